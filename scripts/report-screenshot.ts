// Makes docs/report.png, the README's picture of the HTML report (npm run screenshot): a small fleet
// on the RS simulator, the real `report` command, and headless Chromium (Debian package `chromium`).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { daysFromNow, startWorld } from '../test/support/world';

const spec = (dnsNames: string[], from: number, to: number) => ({
  dnsNames,
  notBefore: daysFromNow(from),
  notAfter: daysFromNow(to),
});

const world = await startWorld({
  clusters: {
    'prod-east': {
      softwareVersion: '7.22.2-14',
      certificates: {
        api: spec(['cluster.example.com'], -40, 50),
        cm: spec(['cluster.example.com'], -300, 65),
        proxy: spec(['*.redis.example.com'], -84, 6),
        syncer: spec(['syncer.example.com'], -365, -2),
        metrics_exporter: spec(['metrics.example.com'], -200, 165),
        ldap_client: spec(['ldap.example.com'], -80, 10),
      },
    },
    'prod-west': {
      softwareVersion: '7.22.2-14',
      certificates: {
        api: spec(['west.example.com'], -20, 70),
        cm: spec(['west.example.com'], -20, 70),
        proxy: spec(['*.west.example.com'], -60, 30),
        syncer: spec(['syncer.west.example.com'], -5, 85),
        metrics_exporter: spec(['metrics.west.example.com'], -100, 265),
      },
    },
    staging: {},
  },
});
try {
  world.sims['prod-east']!.setCertificateField(
    'metrics_exporter_cert',
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
  );
  world.sims.staging!.setPassword('rotated');
  // Every certificate watched (no ACME section: nothing leaves loopback).
  const config = await world.writeConfig();
  const page = join(world.dir, 'report.html');
  const run = await world.cli('report', '--config', config, '--html', page);
  process.stderr.write(`${run.stdout}${run.stderr}`);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    const tab = await browser.newPage({ viewport: { width: 1480, height: 900 } });
    await tab.goto(pathToFileURL(page).href);
    // The header and the first cluster's timeline and table.
    const section = (await tab.locator('section.cluster').first().boundingBox())!;
    await tab.screenshot({
      path: 'docs/report.png',
      fullPage: true,
      clip: { x: 0, y: 0, width: 1480, height: Math.ceil(section.y + section.height + 8) },
    });
  } finally {
    await browser.close();
  }
  process.stderr.write(`docs/report.png: ${(await readFile('docs/report.png')).length} bytes\n`);
} finally {
  await world.close();
}
