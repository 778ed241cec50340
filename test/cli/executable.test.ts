/**
 * The executable operators install (`npx rs-cert-watchdog`, dist/cli.mjs): built as `npm ci` builds
 * it, run as a separate process. Its lazily loaded chunks (ACME, DNS providers) must load from the
 * bundle alone, and the contract holds there too.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../lambdas/domain/report';
import { runBuiltCli } from '../support/cli-process';
import { daysFromNow, startWorld, type World } from '../support/world';

/** dist/cli.mjs (built by test/global-setup.ts), with the recorder of what it loads. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]) {
  return runBuiltCli(args, env, { nodeArgs: ['--require', './test/support/loaded-modules.cjs'] });
}

/** What a run of the executable loaded: Node's built-in modules, and the bundle's chunks it read. */
async function loaded(env: NodeJS.ProcessEnv, ...args: string[]) {
  const file = join(await mkdtemp(join(tmpdir(), 'loaded-')), 'modules.json');
  const result = await cli({ ...env, LOADED_MODULES_FILE: file }, ...args);
  const { builtins } = JSON.parse(await readFile(file, 'utf8')) as { builtins: string[] };
  return { result, builtins: builtins.map((m) => m.replace(/^NativeModule /, '')) };
}

describe('the bundled executable', () => {
  let world: World;

  beforeAll(async () => {
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

  it('loads no command code for --version and --help: no TLS, no crypto, no child processes', async () => {
    for (const flag of ['--version', '--help']) {
      const { result, builtins } = await loaded({}, flag);
      expect(result.code, flag).toBe(0);
      for (const heavy of ['tls', 'https', 'crypto', 'child_process', 'internal/deps/undici/undici'])
        expect(builtins, `${flag} loaded ${heavy}`).not.toContain(heavy);
    }
  });

  it('renews through ACME from the bundle alone', async () => {
    const config = await world.writeConfig(
      {},
      { 'prod-east': { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
    const { result, builtins } = await loaded(world.env, 'renew', '--config', config, '--json');
    expect(result.stderr).toBe('');
    // Neither axios (acme-client's HTTP) nor our adapters make Node load its undici (fetch).
    expect(builtins).not.toContain('internal/deps/undici/undici');
    // commander's child_process stays stubbed. Node loads its internal one in two places only: its
    // dgram (the DNS propagation check's UDP) and net.Server's cluster module (the peers' handshake
    // check before a push listens on 127.0.0.1 once, adapters/tls/handshake.ts).
    const childProcess = builtins.indexOf('child_process');
    if (childProcess >= 0) {
      const afterDgram = builtins.slice(0, childProcess).includes('dgram');
      const forCluster = builtins
        .slice(childProcess + 1, childProcess + 4)
        .includes('internal/cluster/utils');
      expect(afterDgram || forCluster).toBe(true);
    }
    const report = JSON.parse(result.stdout) as FleetReport;
    const proxy = report.clusters[0]!.certificates.find((c) => c.name === 'proxy')!;
    expect(proxy.action).toBe('renewed');
    expect(result.code).toBe(0);
  });
});
