/**
 * A real BIND 9 (`/usr/sbin/named`, Debian package bind9) on a free loopback port, for the DNS-01
 * tests: named.conf, zone files and a TSIG key are written into a temporary directory, and named
 * runs in the foreground (`-g`) until `stop()`. Nothing but 127.0.0.1 is ever listened on or asked.
 *
 * A primary accepts RFC 2136 updates signed with its TSIG key for TXT records in its zones
 * (`update-policy { grant <key> zonesub TXT; }`). A secondary (`secondaryOf`) transfers the zones
 * of a primary once, at start, and is never notified (SOA refresh: one hour): an update made at the
 * primary reaches it only long after any test ends, as on a DNS system whose propagation is slow.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NAMED = '/usr/sbin/named';

export interface BindZone {
  /** The zone's apex, without a trailing dot: "example.com". */
  name: string;
  /**
   * Records besides the SOA and NS (which are written for you, the NS as ns1.<zone> at 127.0.0.1),
   * in zone-file syntax relative to the apex: `_acme-challenge.a CNAME _acme-challenge.a.validation.example.net.`
   */
  records?: string[];
}

export interface TsigKey {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512' | 'hmac-sha224' | 'hmac-sha1' | 'hmac-md5';
  /** Base64, as in a BIND key statement. */
  secret: string;
}

export interface BindOptions {
  zones: BindZone[];
  /** The key updates must be signed with (default: a new hmac-sha256 key named `watchdog-key`). */
  key?: TsigKey;
  /**
   * Also answer as a recursive resolver for 127.0.0.1 (what Pebble's VA and most CAs ask): a
   * `_acme-challenge` CNAME into another of its zones is followed, and the TXT records at its end
   * come in the same answer. Its root zone is its own (empty), so nothing is ever asked outside.
   */
  recursive?: boolean;
  /** Serve the zones of a primary as a secondary instead (never notified: see above). */
  secondaryOf?: BindServer;
  /** Readiness timeout, default 15 000 ms. */
  startTimeoutMs?: number;
}

export interface BindServer {
  /** "127.0.0.1:<port>": the config's `nameserver` or `resolvers` entry, and Pebble's `-dnsserver`. */
  address: string;
  port: number;
  key: TsigKey;
  zones: BindZone[];
  /** named's output so far (the tail), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

const TAIL = 1_048_576;
const live = new Set<ChildProcess>();
let hooked = false;

/** A new random TSIG key, as `tsig-keygen` makes them. */
export function newTsigKey(name = 'watchdog-key', algorithm: TsigKey['algorithm'] = 'hmac-sha256'): TsigKey {
  return { name, algorithm, secret: randomBytes(32).toString('base64') };
}

export async function startBind(options: BindOptions): Promise<BindServer> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  let last: unknown;
  // A free port can be taken between finding it and named binding it: try again with another.
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      last = error;
      if (!/address (already )?in use/i.test((error as Error).message)) throw error;
    }
  }
  throw last;
}

async function startOnce(options: BindOptions): Promise<BindServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bind-'));
  const port = await freePort();
  const key = options.key ?? options.secondaryOf?.key ?? newTsigKey();
  const zones = options.secondaryOf ? options.secondaryOf.zones : options.zones;
  const conf: string[] = [
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${join(dir, 'named.pid')}";`,
    `  session-keyfile "${join(dir, 'session.key')}";`,
    `  managed-keys-directory "${dir}";`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    '  listen-on-v6 { none; };',
    ...(options.recursive ? ['  recursion yes;', '  allow-recursion { 127.0.0.1; };'] : ['  recursion no;']),
    '  dnssec-validation no;',
    '  allow-query { any; };',
    '  allow-transfer { 127.0.0.1; };',
    // Tests look at the zone's contents as they change; serve it as it is.
    '  minimal-responses no;',
    '  notify no;',
    '};',
    'controls { };',
    `key "${key.name}" { algorithm ${key.algorithm}; secret "${key.secret}"; };`,
  ];
  const secondary = options.secondaryOf;
  if (options.recursive) {
    // Authoritative for the root: no priming of the real root servers, no query leaves loopback.
    await writeFile(
      join(dir, 'root.zone'),
      [
        '$TTL 60',
        '. IN SOA ns1.localroot. hostmaster.localroot. ( 1 3600 600 86400 1 )',
        '. IN NS ns1.localroot.',
        'ns1.localroot. IN A 127.0.0.1',
        '',
      ].join('\n'),
    );
    conf.push('zone "." {', '  type primary;', `  file "${join(dir, 'root.zone')}";`, '};');
  }
  for (const zone of zones) {
    if (secondary) {
      conf.push(
        `zone "${zone.name}" {`,
        '  type secondary;',
        `  file "${join(dir, `${zone.name}.zone`)}";`,
        `  primaries { 127.0.0.1 port ${secondary.port}; };`,
        '  masterfile-format text;',
        '};',
      );
    } else {
      await writeFile(join(dir, `${zone.name}.zone`), zoneFile(zone));
      conf.push(
        `zone "${zone.name}" {`,
        '  type primary;',
        `  file "${join(dir, `${zone.name}.zone`)}";`,
        `  update-policy { grant ${key.name} zonesub TXT; };`,
        '  notify no;',
        '};',
      );
    }
  }
  const confFile = join(dir, 'named.conf');
  await writeFile(confFile, `${conf.join('\n')}\n`);

  const child = spawn(NAMED, ['-g', '-c', confFile, '-n', '1', '-U', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let tail = '';
  const onData = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    // named's last start-up line is " running" alone (not "running on Linux", "running as: ...").
    if (/ running\n/.test(tail) && (!secondary || zones.every((z) => transferred(tail, z.name)))) break;
    if (child.exitCode !== null || /address in use|not loaded due to errors/i.test(tail)) {
      await stop();
      throw new Error(`named did not start:\n${tail}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`named not ready after ${options.startTimeoutMs ?? 15_000} ms:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { address: `127.0.0.1:${port}`, port, key, zones, log: () => tail, stop };
}

function transferred(log: string, zone: string): boolean {
  return new RegExp(
    `zone ${zone.replace(/\./g, '\\.')}/IN: transferred serial|transfer of '${zone.replace(/\./g, '\\.')}/IN' from .*: Transfer completed`,
  ).test(log);
}

function zoneFile(zone: BindZone): string {
  return [
    `$ORIGIN ${zone.name}.`,
    '$TTL 60',
    `@ IN SOA ns1.${zone.name}. hostmaster.${zone.name}. ( 1 3600 600 86400 1 )`,
    `@ IN NS ns1.${zone.name}.`,
    'ns1 IN A 127.0.0.1',
    ...(zone.records ?? []),
    '',
  ].join('\n');
}

/** A loopback port free for both UDP and TCP at the time of the call. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    const ok = await new Promise<boolean>((resolve) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('could not find a free loopback port');
}
