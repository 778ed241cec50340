/**
 * The HTML report as a person sees it: written by the bundled executable (`report`, `check --html`,
 * `report --from`) for a fleet with every status, then opened in headless Chromium (Debian package
 * `chromium`, driven by playwright-core). Every certificate is on the page, the timeline is in order
 * and to scale, bars are coloured by status (read from the rendered pixels too), a hostile
 * certificate name is inert text, and the page loads nothing and runs nothing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckJsonReport } from '../../lambdas/cli/json-documents';
import type { CertificateReport } from '../../lambdas/domain/report';
import { buildCliBundle, type CliBundle } from '../support/cli-bundle';
import { HOSTILE_NAME, startEveryStatusWorld, writeEveryStatusConfig } from '../support/every-status-fleet';
import type { World } from '../support/world';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** What the page shows for a name: control and bidi characters as escapes, as on the terminal. */
function shown(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/gu, (ch) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    if (named[ch]) return named[ch];
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** The DOM's getComputedStyle, as the page functions below use it (the tests are typed without the DOM library). */
interface Styles {
  getComputedStyle(element: unknown): { backgroundColor: string; fill: string };
}

interface Rgb {
  r: number;
  g: number;
  b: number;
}
const rgb = (css: string): Rgb => {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (!m) throw new Error(`not a colour: ${css}`);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]) };
};
const close = (a: Rgb, b: Rgb) => Math.abs(a.r - b.r) + Math.abs(a.g - b.g) + Math.abs(a.b - b.b) <= 6;

describe('the HTML report in Chromium', () => {
  let bundle: CliBundle;
  let world: World;
  let browser: Browser;
  let page: Page;
  let report: CheckJsonReport;
  let pagePath: string;
  const requests: string[] = [];
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    [bundle, world] = await Promise.all([buildCliBundle(), startEveryStatusWorld({ pebble: false })]);
    const config = await writeEveryStatusConfig(world);
    pagePath = join(world.dir, 'report.html');
    const run = await bundle.run(world.env, 'report', '--config', config, '--html', pagePath, '--json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    report = JSON.parse(run.stdout) as CheckJsonReport;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 }, colorScheme: 'dark' });
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(pathToFileURL(pagePath).href);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await world?.close();
    await bundle?.close();
  });

  const readable = () => report.clusters.filter((c) => c.error === null);

  it('shows every certificate of every cluster, in the timeline and in the table', async () => {
    for (const cluster of readable()) {
      const section = page
        .locator('section.cluster')
        .filter({ has: page.locator('h2', { hasText: cluster.name }) });
      await expect(section.locator('h2').innerText()).resolves.toBe(cluster.name);
      const rows = await section
        .locator('g.row')
        .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-certificate')));
      const tableNames = await section.locator('table.details tbody th').allInnerTexts();
      const names = cluster.certificates.map((c) => c.name);
      expect([...rows].sort()).toEqual(names.map(shown).sort());
      expect([...tableNames].sort()).toEqual(names.map(shown).sort());
      // Each row's status as a person reads it in the table.
      for (const cert of cluster.certificates) {
        const row = section.locator('table.details tbody tr').filter({
          has: page.locator('th', { hasText: shown(cert.name) }),
        });
        await expect(row.locator('td.status').innerText()).resolves.toBe(cert.status);
      }
    }
    expect(report.clusters.flatMap((c) => c.certificates.map((x) => x.status)).sort()).toEqual(
      expect.arrayContaining(['ok', 'expiring', 'expired', 'invalid']),
    );
  });

  it('says which cluster cannot be read, and why', async () => {
    const west = page.locator('section.cluster.unreachable');
    await expect(west.locator('h2').innerText()).resolves.toBe('prod-west');
    await expect(west.locator('.error').innerText()).resolves.toMatch(/Cannot be read: AuthenticationError/);
    const summary = await page.locator('table.summary tbody td').allInnerTexts();
    const statuses = report.clusters.flatMap((c) => c.certificates.map((x) => x.status));
    const count = (s: string) => String(statuses.filter((x) => x === s).length);
    expect(summary).toEqual(['3', '1', count('ok'), count('expiring'), count('expired'), count('invalid')]);
  });

  it('orders the timeline: unreadable certificates first, then by expiry, soonest at the top', async () => {
    const east = readable().find((c) => c.name === 'prod-east')!;
    const expected = [...east.certificates].sort((a, b) => key(a) - key(b)).map((c) => shown(c.name));
    const onScreen = await page.locator('section[data-cluster="prod-east"] g.row').evaluateAll((gs) =>
      gs
        .map((g) => ({ name: g.getAttribute('data-certificate')!, top: g.getBoundingClientRect().top }))
        .sort((a, b) => a.top - b.top)
        .map((r) => r.name),
    );
    expect(onScreen).toEqual(expected);
    function key(c: CertificateReport): number {
      return c.notAfter === null ? Number.NEGATIVE_INFINITY : Date.parse(c.notAfter);
    }
  });

  it('draws each validity to scale against today: expired bars end before the today line, the others after it', async () => {
    const today = await page.locator('section[data-cluster="prod-east"] line.today').boundingBox();
    for (const cluster of readable())
      for (const cert of cluster.certificates.filter((c) => c.status !== 'invalid')) {
        const g = page.locator(
          `section[data-cluster="${cluster.name}"] g.row[data-certificate="${cssString(shown(cert.name))}"]`,
        );
        const bar = (await g.locator('rect.bar').boundingBox())!;
        const expiry = (await g.locator('line.expiry-point').boundingBox())!;
        const renewal = (await g.locator('path.renewal-point').boundingBox())!;
        const end = bar.x + bar.width;
        if (cert.status === 'expired') expect(end, cert.name).toBeLessThan(today!.x + today!.width / 2);
        else expect(end, cert.name).toBeGreaterThan(today!.x + today!.width / 2);
        expect(
          Math.abs(expiry.x + expiry.width / 2 - end),
          `${cert.name} expiry mark at the bar's end`,
        ).toBeLessThan(2);
        const renewalX = renewal.x + renewal.width / 2;
        expect(renewalX, `${cert.name} renewal point inside its validity`).toBeLessThan(end);
        // expiring and expired certificates are past their renewal point; ok ones are not.
        if (cert.status === 'ok') expect(renewalX).toBeGreaterThan(today!.x);
        else expect(renewalX).toBeLessThan(today!.x + today!.width);
      }
  });

  it('colours each bar by its status, as the legend says, in the pixels a person sees', async () => {
    const legend: Record<string, Rgb> = {};
    for (const status of ['ok', 'expiring', 'expired', 'invalid'])
      legend[status] = rgb(
        await page
          .locator(`.legend .swatch.status-${status}`)
          .evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).backgroundColor),
      );
    // Distinct, and each reads as its colour: ok green, expiring orange, expired red, invalid purple.
    expect(new Set(Object.values(legend).map((c) => JSON.stringify(c))).size).toBe(4);
    expect(legend.ok!.g).toBeGreaterThan(legend.ok!.r + 40);
    expect(legend.expiring!.r).toBeGreaterThan(200);
    expect(legend.expiring!.g).toBeGreaterThan(legend.expiring!.b + 40);
    expect(legend.expired!.r).toBeGreaterThan(legend.expired!.g + 100);
    expect(legend.invalid!.b).toBeGreaterThan(legend.invalid!.g + 60);
    const pixelAt = await pixelsOf(browser, await page.screenshot({ fullPage: true }));
    const todayBox = (await page.locator('section[data-cluster="prod-east"] line.today').boundingBox())!;
    const todayX = todayBox.x + todayBox.width / 2;
    for (const cluster of readable())
      for (const cert of cluster.certificates) {
        const g = page.locator(
          `section[data-cluster="${cluster.name}"] g.row[data-certificate="${cssString(shown(cert.name))}"]`,
        );
        const bar = g.locator('rect.bar');
        const fill = rgb(
          await bar.evaluate((e) => (globalThis as unknown as Styles).getComputedStyle(e).fill),
        );
        const want = legend[cert.status]!;
        if (cert.status !== 'invalid')
          expect(close(fill, want), `${cert.name}: fill ${JSON.stringify(fill)}`).toBe(true);
        // The pixel at the bar's left end (the renewal and expiry marks are further right).
        const box = (await bar.boundingBox())!;
        const scroll = await page.evaluate<{ x: number; y: number }>('({ x: scrollX, y: scrollY })');
        // Sample the middle of the longest stretch of bar between the marks drawn over it.
        const marks = [box.x, box.x + box.width, todayX];
        const renewalPoint = g.locator('path.renewal-point');
        const renewal = (await renewalPoint.count()) ? await renewalPoint.boundingBox() : null;
        if (renewal) marks.push(renewal.x - 1, renewal.x + renewal.width + 1);
        const inside = marks.filter((x) => x >= box.x && x <= box.x + box.width).sort((a, b) => a - b);
        let at = box.x;
        let longest = -1;
        for (let i = 1; i < inside.length; i++)
          if (inside[i]! - inside[i - 1]! > longest) {
            longest = inside[i]! - inside[i - 1]!;
            at = (inside[i]! + inside[i - 1]!) / 2;
          }
        expect(longest, cert.name).toBeGreaterThan(6);
        // An unreadable certificate's bar spans the chart under its label: sample its right end.
        if (cert.status === 'invalid') at = box.x + box.width - 6;
        const pixel = await pixelAt(at + scroll.x, box.y + scroll.y + box.height / 2);
        if (cert.status === 'invalid') {
          // Drawn faded (its validity is unknown): the status colour over the white page.
          expect(pixel.r + pixel.g + pixel.b, cert.name).toBeGreaterThan(want.r + want.g + want.b);
          expect(pixel.b, cert.name).toBeGreaterThan(pixel.g);
        } else expect(close(pixel, want), `${cert.name}: pixel ${JSON.stringify(pixel)}`).toBe(true);
      }
  });

  it('keeps a hostile certificate name inert: shown escaped, no element made of it, nothing run or loaded', async () => {
    const hostile = page.locator('table.details tbody th', { hasText: 'evil' });
    await expect(hostile.innerText()).resolves.toBe(shown(HOSTILE_NAME));
    expect(await page.locator('script, img, iframe, object, embed, link').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);
    // One self-contained page: the only request is the file itself.
    expect(requests).toEqual([pathToFileURL(pagePath).href]);
    const html = await readFile(pagePath, 'utf8');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; `);
    expect(html).not.toMatch(/<script|src=["']?http|url\(/i);
  });

  it('renders a saved check --json report the same (report --from), and check --html writes the same page', async () => {
    const config = join(world.dir, 'config.json');
    const checkPage = join(world.dir, 'check.html');
    const check = await bundle.run(world.env, 'check', '--config', config, '--json', '--html', checkPage);
    expect(check.code).toBe(1);
    const saved = join(world.dir, 'saved.json');
    await writeFile(saved, check.stdout);
    const fromPage = join(world.dir, 'from.html');
    const from = await bundle.run({}, 'report', '--from', saved, '--html', fromPage);
    expect(from.code).toBe(1);
    expect(from.stdout).toMatch(
      /^wrote .*from\.html: 3 cluster\(s\) \(1 unreachable\), \d+ certificate\(s\): /,
    );
    expect(await readFile(fromPage, 'utf8')).toBe(await readFile(checkPage, 'utf8'));
  });

  it('refuses what is not a report, and a missing or doubled source, with exit 2 and nothing written', async () => {
    const out = join(world.dir, 'never.html');
    const error = join(world.dir, 'error.json');
    await writeFile(error, JSON.stringify({ name: 'ConfigError', message: 'x', hint: 'y' }));
    const notReport = await bundle.run({}, 'report', '--from', error, '--html', out, '--json');
    expect(notReport.code).toBe(2);
    expect(JSON.parse(notReport.stdout)).toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/an error document \(ConfigError\), not a report/),
    });
    const bad = join(world.dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({ ...report, clusters: [{ name: 'x', error: null, certificates: [{ name: 1 }] }] }),
    );
    const badField = await bundle.run({}, 'report', '--from', bad, '--html', out);
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/clusters\[0\]\.certificates\[0\]\.name/);
    const neither = await bundle.run({}, 'report', '--html', out);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/give exactly one of --config FILE or --from FILE\.json/);
    const both = await bundle.run(
      world.env,
      'report',
      '--config',
      join(world.dir, 'config.json'),
      '--from',
      bad,
      '--html',
      out,
    );
    expect(both.code).toBe(2);
    const noDir = await bundle.run({}, 'report', '--from', bad, '--html', join(world.dir, 'nope', 'r.html'));
    expect(noDir.code).toBe(2);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});

/** A value inside a CSS attribute selector's double quotes. */
function cssString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\a ');
}

/**
 * The colours of a PNG screenshot's pixels, decoded by Chromium itself (a canvas on a blank page).
 * The page code is given as strings: the tests are typed without the DOM library.
 */
async function pixelsOf(browser: Browser, png: Buffer): Promise<(x: number, y: number) => Promise<Rgb>> {
  const decoder = await browser.newPage();
  await decoder.evaluate(
    `(async (data) => {
      const image = new Image();
      image.src = 'data:image/png;base64,' + data;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      canvas.getContext('2d').drawImage(image, 0, 0);
      globalThis.screenshot = canvas;
    })(${JSON.stringify(png.toString('base64'))})`,
  );
  return (x, y) =>
    decoder.evaluate<Rgb>(
      `(() => {
        const [r, g, b] = globalThis.screenshot.getContext('2d').getImageData(${Math.round(x)}, ${Math.round(y)}, 1, 1).data;
        return { r, g, b };
      })()`,
    );
}
