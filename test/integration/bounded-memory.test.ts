/**
 * One cluster's hostile answer must not stop the fleet: the real CLI, in a child process with a
 * 128 MB heap, checks two clusters while one answers 7 MB of nested arrays (or a flat list of
 * millions of values). JSON.parse of the nested body alone took 427 MB RSS; bounded parsing refuses
 * it unbuilt, and the healthy cluster is still reported.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../lambdas/domain/report';
import { daysFromNow, startWorld, type World } from '../support/world';

const SEVEN_MB_NESTED = `${'['.repeat(3_500_000)}${']'.repeat(3_500_000)}`;
const SEVEN_MB_FLAT = `[${'0,'.repeat(3_500_000)}0]`;

function cliUnder128Mb(
  world: World,
  config: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=128',
        '--import',
        'tsx',
        'lambdas/cli/bin.ts',
        'check',
        '--config',
        config,
        '--json',
      ],
      { env: { ...process.env, ...world.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a hostile body is that cluster’s error, under a 128 MB heap', () => {
  let world: World;
  let config: string;

  beforeAll(async () => {
    const certificates = {
      proxy: { dnsNames: ['*.redis.example.com'], notBefore: daysFromNow(-10), notAfter: daysFromNow(300) },
    };
    world = await startWorld({ clusters: { hostile: { certificates }, healthy: { certificates } } });
    config = await world.writeConfig();
  });
  afterAll(() => world.close());

  it.each([
    ['7 MB of nested arrays', SEVEN_MB_NESTED, /nested deeper than/],
    ['7 MB flat list of 3.5 million values', SEVEN_MB_FLAT, /more than \d+ values/],
  ])('%s', async (_what, body, detail) => {
    world.sims.hostile!.clearFaults();
    world.sims.hostile!.injectFault({
      method: 'GET',
      path: '/v1/cluster/certificates',
      kind: 'status',
      status: 200,
      body,
      times: Number.POSITIVE_INFINITY,
    });
    const run = await cliUnder128Mb(world, config);
    expect(run.stderr).not.toMatch(/heap out of memory|FATAL ERROR/);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as FleetReport;
    const byName = Object.fromEntries(report.clusters.map((c) => [c.name, c]));
    expect(byName.hostile).toMatchObject({
      error: { name: 'BadResponseError', message: expect.stringMatching(detail) },
      certificates: [],
    });
    expect(byName.healthy).toMatchObject({ error: null, certificates: [{ name: 'proxy', status: 'ok' }] });
    // The hostile cluster was asked, and answered in full: the refusal is ours, not the network's.
    const gets = world.sims.hostile!.requests.filter((r) => r.path === '/v1/cluster/certificates');
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((r) => r.status === 200 && r.fault === 'status')).toBe(true);
  });
});
