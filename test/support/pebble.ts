// acme-client 5.4 trust: every Client shares one axios instance and has no TLS option, so set once per process
// `acme.axios.defaults.httpsAgent = new https.Agent({ keepAlive: true, secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, extraPem] }) })`.
// Prefer secureContext over `ca`: `ca` re-parses ~140 roots on each TLS connect (+23 ms; one order: ~600 ms vs ~70 ms).
//
// Test harness: starts Pebble 2.4 + pebble-challtestsrv on free loopback ports with a throwaway TLS CA.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PebbleOptions {
  /** PEBBLE_WFE_NONCEREJECT, default 0 (Pebble's own default is 5). */
  nonceRejectPercent?: number;
  /** PEBBLE_AUTHZREUSE, default 0 (Pebble's own default is 50). */
  authzReusePercent?: number;
  /** Config `certificateValidityPeriod` in seconds; default Pebble's (about 5 years). */
  certificateValiditySeconds?: number;
  /** kid -> base64url HMAC key; sets `externalAccountMACKeys` and `externalAccountBindingRequired: true`. */
  eabKeys?: Record<string, string>;
  /** When set, both processes' output is also written to `<logDir>/pebble-<port>.log` and `challtestsrv-<port>.log`. */
  logDir?: string;
  /** Readiness timeout per attempt, default 15 000 ms. */
  startTimeoutMs?: number;
  /**
   * "host:port" of the DNS server Pebble's VA validates against (a BIND on loopback); default its
   * own pebble-challtestsrv (which still runs, for `dns`).
   */
  dnsServer?: string;
}

export interface PebbleDns {
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  /** http://127.0.0.1:<port> of pebble-challtestsrv's management API. */
  managementUrl: string;
  /** 127.0.0.1:<port>, UDP and TCP. */
  dnsAddress: string;
}

export interface PebbleEnv {
  /** https://127.0.0.1:<port>/dir */
  directoryUrl: string;
  /** https://127.0.0.1:<port> of Pebble's management API (roots, intermediates, cert-status-by-serial). */
  pebbleManagementUrl: string;
  /** The throwaway CA that signed Pebble's HTTPS certificate (what a client must trust to talk ACME). */
  tlsCaPem: string;
  /** A file with tlsCaPem + the issuing root + intermediate PEMs, usable as our config's `acme.caFile`. */
  caFile: string;
  /** GET /roots/0, fetched after start (new at every start). */
  issuingRootPem: string;
  /** GET /intermediates/0, fetched after start. */
  issuingIntermediatePem: string;
  dns: PebbleDns;
  /** Kills both processes (and waits), removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  hasExited(): boolean;
  tail(): string;
}

const TAIL_BYTES = 4096;
const live = new Set<{ procs: Managed[]; dir: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const inst of live) {
      for (const p of inst.procs) {
        // SIGTERM reaches the wrapper's trap, which kills the real process. Even without this, the wrapper's
        // stdin closes when we exit and its watcher kills the process (covers SIGKILL of the test worker).
        if (!p.hasExited()) p.child.kill('SIGTERM');
      }
      rmSync(inst.dir, { recursive: true, force: true });
    }
  });
}

// The wrapper ties the child's lifetime to ours: when our end of its stdin closes (stop(), or this process
// dying for any reason, SIGKILL included), the watcher kills the program (and removes $TETHER_RMDIR, the temp dir,
// which the 'exit' hook cannot do after a SIGKILL). SIGTERM to the wrapper only kills the program.
const TETHER = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'pid=$!',
  "trap 'kill $pid 2>/dev/null' TERM INT HUP",
  '( while read -r _ <&3; do :; done; kill $pid 2>/dev/null; [ -n "$TETHER_RMDIR" ] && rm -rf "$TETHER_RMDIR" ) &',
  'w=$!',
  'wait $pid',
  'rc=$?',
  // After a trapped signal `wait` returns early: wait again for the real exit so ports are free when we return.
  'wait $pid 2>/dev/null',
  'kill $w 2>/dev/null',
  'exit $rc',
].join('\n');

function launch(
  name: string,
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log?: WriteStream,
): Managed {
  const child = spawn('/bin/sh', ['-c', TETHER, 'tether', bin, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let buf = '';
  let done = false;
  const onData = (chunk: Buffer): void => {
    buf = (buf + chunk.toString('utf8')).slice(-TAIL_BYTES);
    log?.write(chunk);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.stdin?.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      done = true;
      resolve(code);
    });
    child.on('error', (err) => {
      buf += `\nspawn error: ${err.message}`;
      done = true;
      resolve(null);
    });
  });
  return { name, child, exited, hasExited: () => done, tail: () => buf };
}

async function terminate(p: Managed, graceMs = 3000): Promise<void> {
  if (p.hasExited()) return;
  p.child.stdin?.end();
  p.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([p.exited, timer])) === 'timeout') {
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

/** A loopback port that is free for TCP (and UDP too when `udp` is set) at the time of the call. */
async function freePort(udp = false): Promise<number> {
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
    if (!udp) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const sock = dgram.createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('could not find a free loopback port');
}

interface HttpResult {
  status: number;
  body: string;
}

function request(
  url: string,
  opts: { method?: string; body?: string; ca?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: opts.method ?? 'GET',
        ca: opts.ca,
        agent: false,
        timeout: opts.timeoutMs ?? 5000,
        headers: opts.body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function makeTlsCert(dir: string): Promise<{ caPem: string; certFile: string; keyFile: string }> {
  const caKey = join(dir, 'tls-ca.key');
  const caCert = join(dir, 'tls-ca.pem');
  const keyFile = join(dir, 'tls-key.pem');
  const csrFile = join(dir, 'tls.csr');
  const certFile = join(dir, 'tls-cert.pem');
  const extFile = join(dir, 'tls-ext.cnf');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await execFileAsync('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '2',
    '-subj',
    '/CN=rs-cert-watchdog throwaway test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await execFileAsync('openssl', [
    'req',
    ...ec,
    '-keyout',
    keyFile,
    '-out',
    csrFile,
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  await execFileAsync('openssl', [
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    caCert,
    '-CAkey',
    caKey,
    '-set_serial',
    `0x${Date.now().toString(16)}`,
    '-days',
    '2',
    '-extfile',
    extFile,
    '-out',
    certFile,
  ]);
  return { caPem: await readFile(caCert, 'utf8'), certFile, keyFile };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class StartError extends Error {
  constructor(
    message: string,
    readonly portClash: boolean,
  ) {
    super(message);
  }
}

function describeProcs(procs: Managed[]): string {
  return procs
    .map((p) => `--- ${p.name} (${p.hasExited() ? 'exited' : 'running'}) output tail ---\n${p.tail().trim()}`)
    .join('\n');
}

async function waitReady(
  procs: Managed[],
  probes: Array<() => Promise<boolean>>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(probes);
  const anyExit = Promise.race(procs.map((p) => p.exited));
  while (pending.size > 0) {
    // Pebble exits when it cannot bind; pebble-challtestsrv logs the error and keeps running.
    const clash = procs.find((p) => /address already in use/i.test(p.tail()));
    if (clash) throw new StartError(`${clash.name}: port clash\n${describeProcs(procs)}`, true);
    const dead = procs.find((p) => p.hasExited());
    if (dead) throw new StartError(`${dead.name} exited during startup\n${describeProcs(procs)}`, false);
    // A probe can hang up to its timeout (e.g. a foreign server on a clashing port): stop waiting on exit.
    await Promise.race([
      anyExit,
      Promise.all(
        [...pending].map(async (probe) => {
          if (await probe().catch(() => false)) pending.delete(probe);
        }),
      ),
    ]);
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      throw new StartError(`Pebble not ready after ${timeoutMs} ms\n${describeProcs(procs)}`, false);
    }
    await sleep(25);
  }
}

export async function startPebble(opts: PebbleOptions = {}): Promise<PebbleEnv> {
  installExitHook();
  let lastErr: unknown;
  // A port picked by freePort() can be taken by someone else before Pebble binds it: retry with new ports.
  for (let attempt = 0; attempt < 4; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'pebble-'));
    try {
      return await startOnce(dir, opts);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      lastErr = err;
      if (!(err instanceof StartError && err.portClash)) throw err;
    }
  }
  throw lastErr;
}

async function startOnce(dir: string, opts: PebbleOptions): Promise<PebbleEnv> {
  const acmePort = await freePort();
  const mgmtPort = await freePort();
  const dnsPort = await freePort(true);
  const dnsMgmtPort = await freePort();

  let pebbleLog: WriteStream | undefined;
  let dnsLog: WriteStream | undefined;
  if (opts.logDir) {
    await mkdir(opts.logDir, { recursive: true });
    pebbleLog = createWriteStream(join(opts.logDir, `pebble-${acmePort}.log`));
    dnsLog = createWriteStream(join(opts.logDir, `challtestsrv-${dnsPort}.log`));
  }
  const closeLogs = (): Promise<unknown> =>
    Promise.all([pebbleLog, dnsLog].map((s) => s && new Promise<void>((r) => s.end(() => r()))));

  const procs: Managed[] = [];
  const inst = { procs, dir };
  live.add(inst);
  const stopProcs = async (): Promise<void> => {
    await Promise.all(procs.map((p) => terminate(p)));
    live.delete(inst);
    await closeLogs();
  };

  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir };
  // challtestsrv needs no certificate: start it while openssl runs.
  procs.push(
    launch(
      'pebble-challtestsrv',
      'pebble-challtestsrv',
      [
        '-management',
        `127.0.0.1:${dnsMgmtPort}`,
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-defaultIPv6',
        '',
      ],
      baseEnv,
      dnsLog,
    ),
  );

  let tlsCaPem: string;
  try {
    const tls = await makeTlsCert(dir);
    tlsCaPem = tls.caPem;
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: tls.certFile,
        privateKey: tls.keyFile,
        // Ports the VA dials for http-01 / tls-alpn-01; unused with DNS-01.
        httpPort: 5002,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: opts.eabKeys !== undefined,
        ...(opts.eabKeys ? { externalAccountMACKeys: opts.eabKeys } : {}),
        ...(opts.certificateValiditySeconds !== undefined
          ? { certificateValidityPeriod: opts.certificateValiditySeconds }
          : {}),
      },
    };
    const configFile = join(dir, 'pebble-config.json');
    await writeFile(configFile, JSON.stringify(config, null, 2));
    procs.push(
      launch(
        'pebble',
        'pebble',
        ['-config', configFile, '-strict=false', '-dnsserver', opts.dnsServer ?? `127.0.0.1:${dnsPort}`],
        {
          ...baseEnv,
          TETHER_RMDIR: dir,
          PEBBLE_VA_NOSLEEP: '1',
          PEBBLE_WFE_NONCEREJECT: String(opts.nonceRejectPercent ?? 0),
          PEBBLE_AUTHZREUSE: String(opts.authzReusePercent ?? 0),
        },
        pebbleLog,
      ),
    );
  } catch (err) {
    await stopProcs();
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopProcs();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const pebbleManagementUrl = `https://127.0.0.1:${mgmtPort}`;
  const managementUrl = `http://127.0.0.1:${dnsMgmtPort}`;
  const fetchPem = async (path: string): Promise<string> => {
    const res = await request(`${pebbleManagementUrl}${path}`, { ca: tlsCaPem });
    if (res.status !== 200)
      throw new Error(`GET ${pebbleManagementUrl}${path} -> ${res.status}: ${res.body}`);
    return res.body.endsWith('\n') ? res.body : `${res.body}\n`;
  };
  let issuingRootPem: string;
  let issuingIntermediatePem: string;
  const caFile = join(dir, 'ca-bundle.pem');
  try {
    await waitReady(
      procs,
      [
        async () => (await request(directoryUrl, { ca: tlsCaPem, timeoutMs: 500 })).status === 200,
        async () =>
          (await request(`${pebbleManagementUrl}/roots/0`, { ca: tlsCaPem, timeoutMs: 500 })).status === 200,
        // Any HTTP answer means the management server is up (GET / is a 404).
        async () => (await request(`${managementUrl}/`, { timeoutMs: 500 })).status > 0,
      ],
      opts.startTimeoutMs ?? 15_000,
    );
    issuingRootPem = await fetchPem('/roots/0');
    issuingIntermediatePem = await fetchPem('/intermediates/0');
    await writeFile(caFile, tlsCaPem + issuingRootPem + issuingIntermediatePem);
  } catch (err) {
    await stopProcs();
    throw err;
  }

  const post = async (path: string, payload: unknown): Promise<void> => {
    const res = await request(`${managementUrl}${path}`, { method: 'POST', body: JSON.stringify(payload) });
    if (res.status !== 200) throw new Error(`pebble-challtestsrv ${path} -> ${res.status}: ${res.body}`);
  };

  return {
    directoryUrl,
    pebbleManagementUrl,
    tlsCaPem,
    caFile,
    issuingRootPem,
    issuingIntermediatePem,
    dns: {
      setTxt: (host, value) => post('/set-txt', { host, value }),
      clearTxt: (host) => post('/clear-txt', { host }),
      managementUrl,
      dnsAddress: `127.0.0.1:${dnsPort}`,
    },
    stop,
  };
}
