/**
 * The executable operators install (`npx rs-cert-watchdog`, dist/cli.mjs): built as `npm ci` builds
 * it, run as a separate process. Its lazily loaded chunks (ACME, DNS providers) must load from the
 * bundle alone, and the contract holds there too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../lambdas/domain/report';
import { runBuiltCli } from '../support/cli-process';
import { node24Binary } from '../support/lambda/invoke';
import { daysFromNow, startWorld, type World } from '../support/world';

/** dist/cli.mjs (built by test/global-setup.ts), with the recorder of what it loads. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]) {
  return runBuiltCli(args, env, { nodeArgs: ['--require', './test/support/loaded-modules.cjs'] });
}

/** What a run of the executable loaded: Node's built-in modules, and the bundle's chunks it read. */
async function loaded(env: NodeJS.ProcessEnv, ...args: string[]) {
  return loadedOn(process.execPath, env, ...args);
}

/** The same, run by another Node binary. */
async function loadedOn(node: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  const file = join(await mkdtemp(join(tmpdir(), 'loaded-')), 'modules.json');
  const result = await runBuiltCli(
    args,
    { ...env, LOADED_MODULES_FILE: file },
    {
      node,
      nodeArgs: ['--require', './test/support/loaded-modules.cjs'],
    },
  );
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
    // Nor Node's HTTP/2: axios requires it where its HTTP/2 transport first uses it, and the DNS
    // reads take dns2's Packet module alone, not its servers and DoH client (lambdas/bundling/).
    expect(builtins).not.toContain('http2');
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

  it('does not make Node 22+ load its undici through node:http on Node 24 (check and renew)', async () => {
    // From Node 22, node:http has lazy getters (WebSocket, ...) that load undici; an ES module import
    // of node:http reads them all. The bundle takes node:http through
    // lambdas/bundling/node-http-on-use.cjs instead (lib/bundling/esbuild-options.json).
    const config = await world.writeConfig(
      {},
      { 'prod-east': { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
    // The renewal first: the check that follows then finds every certificate fine (exit 0).
    for (const args of [
      ['renew', '--config', config, '--force', 'proxy', '--json'],
      ['check', '--config', config, '--json'],
    ]) {
      const { result, builtins } = await loadedOn(node24Binary(), world.env, ...args);
      expect(result.stderr, args[0]).toBe('');
      expect(result.code, args[0]).toBe(0);
      expect(builtins, args[0]).toContain('http');
      expect(builtins, args[0]).not.toContain('internal/deps/undici/undici');
    }
  });
});

/**
 * Issue 18 item 8, from the executable: who holds a lock. A CLI holder is its host, pid AND process
 * start (/proc/<pid>/stat: a reused pid is another process, a zombie has exited), and a lease
 * longer than any this product sets is invalid. Either is taken over at once, with a warning; a
 * holder that is alive, with a lease the product sets, is left alone.
 */
describe('the executable and the lock another run left', () => {
  let world: World;
  let config: string;
  const children: ChildProcess[] = [];

  /** `<boot id>:<start ticks>` of a process, read here from /proc as the product must. */
  const processStart = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      state: fields[0],
      start: `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}:${fields[19]}`,
    };
  };
  /** Writes the lock of east/proxy as the CLI writes it (its first generation). */
  const holdLock = async (pid: number, start: string, expiresAt: string) => {
    const dir = join(world.dir, 'state', 'locks', 'east', 'proxy');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const owner = {
      id: `holder-${pid}`,
      description: `rs-cert-watchdog on ${hostname()} (pid ${pid}, started earlier)`,
      host: hostname(),
      pid,
      processStart: start,
    };
    await writeFile(join(dir, '000000000001.json'), JSON.stringify({ owner, expiresAt }), { mode: 0o600 });
  };
  const renew = async () => {
    const result = await cli(world.env, 'renew', '--config', config, '--json');
    const report = JSON.parse(result.stdout) as FleetReport;
    return { result, proxy: report.clusters[0]!.certificates.find((c) => c.name === 'proxy')! };
  };
  const soon = () => new Date(Date.now() + 10 * 60_000).toISOString();

  beforeAll(async () => {
    world = await startWorld({
      clusters: {
        east: {
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
    config = await world.writeConfig(
      {},
      { east: { certificates: { proxy: { domains: ['*.redis.example.com'] } } } },
    );
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await world.close();
  });

  it.runIf(process.platform === 'linux')(
    'leaves alone a lock held by a live process, started when its record says, with a lease the product sets',
    async () => {
      const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
      children.push(holder);
      await holdLock(holder.pid!, processStart(holder.pid!).start, soon());
      const { result, proxy } = await renew();
      expect(proxy.action).toBe('skipped');
      expect(proxy.skipped).toMatch(
        new RegExp(`being renewed by rs-cert-watchdog on .* \\(pid ${holder.pid}`),
      );
      expect(result.stderr).not.toMatch(/took over/);
    },
  );

  it.runIf(process.platform === 'linux')(
    'takes over a lock whose pid now belongs to another process (another start time), and renews',
    async () => {
      const other = spawn('sleep', ['60'], { stdio: 'ignore' });
      children.push(other);
      const { start } = processStart(other.pid!);
      const [boot, ticks] = start.split(':');
      await holdLock(other.pid!, `${boot}:${Number(ticks) - 1000}`, soon());
      const { result, proxy } = await renew();
      expect(result.stderr).toMatch(
        new RegExp(
          `warning: took over the lock of proxy on cluster "east" from .*pid ${other.pid}.*: no process with pid ${other.pid} and its start time runs`,
        ),
      );
      expect(proxy.action).toBe('renewed');
      expect(result.code).toBe(0);
    },
  );

  it.runIf(process.platform === 'linux')(
    'takes over a lock whose holder is a zombie (it exited)',
    async () => {
      // The shell backgrounds a short sleep, then becomes a long sleep that never reaps it: a zombie.
      const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 60'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      children.push(parent);
      const pid = Number(
        await new Promise<string>((resolve) =>
          parent.stdout!.once('data', (d: Buffer) => resolve(String(d))),
        ),
      );
      const { start } = processStart(pid);
      for (let i = 0; i < 100 && processStart(pid).state !== 'Z'; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(processStart(pid).state).toBe('Z');
      await holdLock(pid, start, soon());
      const { result, proxy } = await forceRenew();
      expect(result.stderr).toMatch(
        new RegExp(`warning: took over the lock .* from .*pid ${pid}.*: no process with pid ${pid}`),
      );
      expect(proxy.action).toBe('renewed');
    },
  );

  it('takes over a lock whose lease runs to 9999 (longer than any lease the product sets), held by a live process', async () => {
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(holder);
    const start = process.platform === 'linux' ? processStart(holder.pid!).start : 'unknown';
    await holdLock(holder.pid!, start, '9999-12-31T00:00:00.000Z');
    const { result, proxy } = await forceRenew();
    expect(result.stderr).toMatch(
      /warning: took over the lock of proxy on cluster "east" from .*: its lease runs until 9999-12-31T00:00:00.000Z, longer than any this product sets/,
    );
    expect(proxy.action).toBe('renewed');
    expect(result.code).toBe(0);
  });

  /** Renewed certificates are fine for 90 days: later cases force the renewal the lock guards. */
  async function forceRenew() {
    const result = await cli(world.env, 'renew', '--config', config, '--json', '--force', 'proxy');
    const report = JSON.parse(result.stdout) as FleetReport;
    return { result, proxy: report.clusters[0]!.certificates.find((c) => c.name === 'proxy')! };
  }
});
