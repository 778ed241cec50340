/**
 * The executable operators install (`npx rs-cert-watchdog`, dist/cli.mjs): built as `npm ci` builds
 * it, run as a separate process. Its lazily loaded chunks (ACME, DNS providers) must load from the
 * bundle alone, and the contract holds there too.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../lambdas/domain/report';
import { daysFromNow, startWorld, type World } from '../support/world';

const run = promisify(execFile);

async function cli(env: NodeJS.ProcessEnv, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli.mjs', ...args], {
      env: { PATH: process.env.PATH, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the bundled executable', () => {
  let world: World;

  beforeAll(async () => {
    await run(process.execPath, ['scripts/build-cli.mjs']);
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-85),
              notAfter: daysFromNow(5),
            },
          },
        },
      },
      pebble: {},
    });
  });
  afterAll(() => world.close());

  it('prints its version, and exits 2 with a JSON error document on a usage error', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect((await cli({}, '--version')).stdout.trim()).toBe(version);
    const usage = await cli({}, 'renw', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({
      name: 'ConfigError',
      hint: expect.stringMatching(/renew/),
    });
  });

  it('renews through ACME from the bundle alone', async () => {
    const config = await world.writeConfig(
      {},
      { 'prod-east': { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
    const result = await cli(world.env, 'renew', '--config', config, '--json');
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as FleetReport;
    const proxy = report.clusters[0]!.certificates.find((c) => c.name === 'proxy')!;
    expect(proxy.action).toBe('renewed');
    expect(result.code).toBe(0);
  });
});
