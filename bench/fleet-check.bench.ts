/**
 * Fleet check: wall time, throughput and memory of `checkFleet` against N simulated RS clusters
 * (six certificates each, 1 node, 50 ms added to every API answer).
 *
 * The simulators run in a child process (bench/support/fleet-server.ts), so RSS, heap and CPU
 * figures are the checker's own. Ideal time = ceil(N / concurrency) × single-cluster time, where
 * the single-cluster time is the median N = 1 wall time.
 */

import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { connectCluster } from '../lambdas/adapters/rs-https';
import { trustContext } from '../lambdas/adapters/tls/trust';
import {
  clearInspectionCache,
  exportInspectionMemory,
  importInspectionMemory,
  inspectionCacheStats,
  parseCertificateChain,
  parsePrivateKey,
} from '../lambdas/domain/certificate';
import { checkFleet, reportFor } from '../lambdas/domain/check';
import { mapWithConcurrency } from '../lambdas/domain/concurrency';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { publicKeyMatches, publicPartOfKeyDer } from '../lambdas/domain/key-public-part';
import type { CredentialsProvider } from '../lambdas/domain/ports';
import { openRsClient } from '../lambdas/domain/rs/client';
import { connectionFor } from '../lambdas/domain/rs/connection';
import { node24Binary } from '../test/support/lambda/invoke';
import {
  childEnv,
  collectGarbage,
  consoleTable,
  fmt,
  fmtMs,
  log,
  machineInfo,
  markdownTable,
  median,
  REPO_DIR,
  type Result,
  runIfMain,
  summarize,
  type Target,
  targetsTable,
  writeResult,
} from './support/common';
import { labelOf, profile, summarizeProfile } from './support/cpu-profile';
import {
  DistinctCaCredentials,
  type FleetServer,
  fleetAccess,
  fleetConfig,
  InMemoryCredentials,
  startFleetServer,
  x509ParseMicros,
} from './support/fleet-harness';
import type { FleetOnNodeResult, FleetOnNodeRun, FleetOnNodeSetup } from './support/fleet-on-node';

const SIZES = [1, 10, 100, 500] as const;
const CONCURRENCIES = [8, 32] as const;
/** Added to every simulated API answer (bench/check-shard holds the shard's wall to the same bound). */
export const LATENCY_MS = 50;
/** Simulators started; the largest row. */
const FLEET_MAX = 5000;
/** Distinct certificate sets: every one of the first 500 clusters serves its own six certificates. */
const CERTIFICATE_SETS = 500;
const REPEATS: Record<number, number> = { 1: 5, 10: 5, 100: 3, 500: 3, 5000: 2 };

interface FleetCase {
  id: string;
  label: string;
  n: number;
  c: number;
  /** Every cluster pins a different CA (as real RS clusters do) instead of sharing one. */
  distinctCa: boolean;
  /**
   * How the run starts. `warm`: in a process that checked the fleet before (a warm Lambda). `cold`:
   * the inspection memory cleared, every certificate and key parsed (a cold Lambda; a CLI's very
   * first run). `memory`: cleared, then the last run's memory loaded from its JSON inside the timed
   * run (a daily CLI check, which keeps it in stateDir/inspection-memory.json).
   */
  start: 'warm' | 'cold' | 'memory';
}

const CONFIGS: FleetCase[] = [
  ...SIZES.flatMap((n) =>
    (n === 1 ? [8] : [...CONCURRENCIES]).map((c) => ({
      id: `${n}@${c}`,
      label: String(n),
      n,
      c,
      distinctCa: false,
      start: 'warm' as const,
    })),
  ),
  {
    id: '500@32-memory',
    label: "500, new process with the last run's memory",
    n: 500,
    c: 32,
    distinctCa: false,
    start: 'memory',
  },
  {
    id: '500@32-cold',
    label: '500, first check of the process',
    n: 500,
    c: 32,
    distinctCa: false,
    start: 'cold',
  },
  {
    id: '500@8-cold',
    label: '500, first check of the process',
    n: 500,
    c: 8,
    distinctCa: false,
    start: 'cold',
  },
  { id: '5000@32', label: '5000', n: 5000, c: 32, distinctCa: false, start: 'warm' },
  {
    id: '500@8-distinct-ca',
    label: '500, distinct CA per cluster',
    n: 500,
    c: 8,
    distinctCa: true,
    start: 'warm',
  },
];
const MB = 2 ** 20;

interface RunSample {
  wallMs: number;
  cpuMs: number;
  /** CPU of the simulator process during the run (TLS handshakes and answers on the other side). */
  simulatorCpuMs: number;
  requests: number;
  peakRssMb: number;
  baselineRssMb: number;
  peakHeapDeltaMb: number;
  retainedHeapDeltaMb: number;
  loopDelayP99Ms: number;
  clusterErrors: number;
  certificates: number;
  /** Certificates and keys parsed in the run (inspection-cache misses), of 2 × 6 per cluster. */
  parsed: number;
}

async function measureRun(
  server: FleetServer,
  config: WatchdogConfig,
  credentials: CredentialsProvider,
  start: FleetCase['start'],
  lastRunMemory: string,
): Promise<RunSample> {
  await server.command('reset');
  if (start !== 'warm') clearInspectionCache();
  const misses0 = inspectionCacheStats.leafMisses + inspectionCacheStats.keyMisses;
  await collectGarbage();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  }, 20);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // What the CLI does at start (adapters/local-directory/inspection-memory.ts), minus the file read.
  if (start === 'memory') importInspectionMemory(JSON.parse(lastRunMemory));
  const report = await checkFleet(config, { credentials, connect: connectCluster });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  clearInterval(sampler);
  const end = process.memoryUsage();
  if (end.rss > peakRss) peakRss = end.rss;
  if (end.heapUsed > peakHeap) peakHeap = end.heapUsed;
  const stats = await server.command('stats');
  const clusterErrors = report.clusters.filter((c) => c.error !== null).length;
  const certificates = report.clusters.reduce((a, c) => a + c.certificates.length, 0);
  const firstError = report.clusters.find((c) => c.error)?.error;
  if (firstError) log(`  cluster error: ${firstError.name}: ${firstError.message}`);
  const retained = end.heapUsed - base.heapUsed;
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    simulatorCpuMs: Number(stats.cpuMs),
    requests: Number(stats.requests),
    peakRssMb: peakRss / MB,
    baselineRssMb: base.rss / MB,
    peakHeapDeltaMb: (peakHeap - base.heapUsed) / MB,
    retainedHeapDeltaMb: retained / MB,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    clusterErrors,
    certificates,
    parsed: inspectionCacheStats.leafMisses + inspectionCacheStats.keyMisses - misses0,
  };
}

/**
 * The same work as checkCluster (credentials → RsClient → GET → reportFor → close), split into
 * phases with timestamps: where does a cluster's time go when many run side by side?
 */
async function breakdown(
  config: WatchdogConfig,
  credentials: CredentialsProvider,
): Promise<Record<string, number>> {
  const phases = { resolveMs: [] as number[], requestMs: [] as number[], reportMs: [] as number[] };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await mapWithConcurrency(config.clusters, config.concurrency, async (cluster) => {
    const a = performance.now();
    const access = await credentials.resolve(cluster);
    const client = openRsClient(connectCluster, connectionFor(cluster, access, undefined));
    const b = performance.now();
    try {
      const set = await client.getCertificates();
      const c = performance.now();
      reportFor(config, cluster, set, new Date());
      const d = performance.now();
      phases.resolveMs.push(b - a);
      phases.requestMs.push(c - b);
      phases.reportMs.push(d - c);
    } finally {
      client.close();
    }
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // Pure CPU of the report step on one fetched set, and of its two native parts.
  const cluster = config.clusters[0]!;
  const client = openRsClient(
    connectCluster,
    connectionFor(cluster, await credentials.resolve(cluster), undefined),
  );
  const set = await client.getCertificates();
  client.close();
  const names = set.names();
  const leafKeys = names.map((n) => parseCertificateChain(set.certificate(n) ?? '')[0]!.publicKey);
  // Alternating blocks, so that a burst of other load hits all four measurements alike.
  const parts: Record<string, () => unknown> = {
    report: () => {
      clearInspectionCache();
      return reportFor(config, cluster, set, new Date());
    },
    reportRemembered: () => reportFor(config, cluster, set, new Date()),
    chains: () => names.map((n) => parseCertificateChain(set.certificate(n) ?? '')),
    keys: () => names.map((n) => parsePrivateKey(set.key(n) ?? '')),
    // What the check does for the key match: the public half the key's DER carries, no key parse.
    keysPublicHalf: () =>
      names.map((n, i) => {
        const der = pemToDer(set.key(n) ?? '');
        const part = publicPartOfKeyDer(der.key, der.type);
        return part !== undefined && publicKeyMatches(leafKeys[i]!, part);
      }),
    // For comparison only: node:crypto on the PEM text, and on the DER (PEM armour removed in JS).
    keysPem: () => names.map((n) => createPrivateKey(set.key(n) ?? '')),
    keysDer: () => names.map((n) => createPrivateKey(pemToDer(set.key(n) ?? ''))),
  };
  const partSamples: Record<string, number[]> = {};
  for (const fn of Object.values(parts)) for (let i = 0; i < 20; i++) fn();
  for (let block = 0; block < 6; block++) {
    for (const [name, fn] of Object.entries(parts)) {
      const list = partSamples[name] ?? [];
      for (let i = 0; i < 30; i++) {
        const t = performance.now();
        fn();
        list.push(performance.now() - t);
      }
      partSamples[name] = list;
    }
  }
  const isolated = median(partSamples.report ?? []);
  const remembered = median(partSamples.reportRemembered ?? []);
  const chains = median(partSamples.chains ?? []);
  const keys = median(partSamples.keys ?? []);
  const keysPublicHalf = median(partSamples.keysPublicHalf ?? []);
  const keysPem = median(partSamples.keysPem ?? []);
  const keysDer = median(partSamples.keysDer ?? []);
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    requestMedianMs: median(phases.requestMs),
    requestP90Ms: summarize(phases.requestMs).p90,
    reportInFleetMedianMs: median(phases.reportMs),
    reportIsolatedMedianMs: isolated,
    reportRememberedMedianMs: remembered,
    reportChainsParseMs: chains,
    reportKeysParseMs: keys,
    reportKeysPublicHalfMs: keysPublicHalf,
    reportKeysParseAsPemMs: keysPem,
    reportKeysParseAsDerMs: keysDer,
    resolveMedianMs: median(phases.resolveMs),
  };
}

/** CPU and retained RSS of one trustContext() call for a CA PEM not seen before. */
function measureTrustContext(caPem: string): { ms: number; rssKb: number } {
  const times: number[] = [];
  const rss0 = process.memoryUsage().rss;
  const count = 40;
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    trustContext([`# trust-cost probe ${i}\n${caPem}`]);
    times.push(performance.now() - t);
  }
  return { ms: median(times), rssKb: (process.memoryUsage().rss - rss0) / 1024 / count };
}

/** PEM private key → the DER form node:crypto accepts without OpenSSL's PEM decoder chain. */
function pemToDer(pem: string): { key: Buffer; format: 'der'; type: 'pkcs1' | 'pkcs8' | 'sec1' } {
  const type = pem.includes('BEGIN RSA PRIVATE KEY')
    ? 'pkcs1'
    : pem.includes('BEGIN EC PRIVATE KEY')
      ? 'sec1'
      : 'pkcs8';
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  return { key: Buffer.from(body, 'base64'), format: 'der', type };
}

/**
 * The concurrency-32 rows at N = 500 again on the functions' Node (24, inside the package's
 * `engines`), in a child process against the same simulators (bench/support/fleet-on-node.ts).
 * This machine's Node 20 parses an X.509 certificate in ~150 µs of CPU (OpenSSL 3.0), Node 24 in
 * ~35 µs (OpenSSL 3.5): a first check, which parses every certificate, is CPU-bound on Node 20.
 */
async function onNode24(server: FleetServer, stateDir: string): Promise<FleetOnNodeResult> {
  const setupFile = join(stateDir, 'fleet-on-node.json');
  const setup: FleetOnNodeSetup = {
    clusters: server.clusters.slice(0, 500),
    caPem: server.caPem,
    username: server.username,
    password: server.password,
    stateDir,
    repeats: REPEATS[500] ?? 3,
  };
  writeFileSync(setupFile, JSON.stringify(setup), { mode: 0o600 });
  const { stdout } = await promisify(execFile)(
    node24Binary(),
    ['--import', 'tsx', 'bench/support/fleet-on-node.ts', setupFile],
    { cwd: REPO_DIR, env: childEnv(), maxBuffer: 16 * 2 ** 20, timeout: 600_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() as string) as FleetOnNodeResult;
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  log('\n## fleet-check: checkFleet against simulated clusters (simulators in a child process)');
  const server = await startFleetServer(FLEET_MAX, LATENCY_MS, CERTIFICATE_SETS);
  log(
    `  ${server.clusters.length} simulators (${server.certificateSets} distinct certificate sets) started in ${server.startMs} ms (child process)`,
  );
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-fleet-'));
  const credentials = new InMemoryCredentials(fleetAccess(server));

  try {
    // Warm-up: JIT, the trust context cache (built once per process, as in a warm Lambda).
    for (let i = 0; i < 3; i++)
      await checkFleet(fleetConfig(server, 8, 8, stateDir), { credentials, connect: connectCluster });
    // The last run's memory for the `memory` rows: what a check of the 500 clusters leaves behind.
    clearInspectionCache();
    await checkFleet(fleetConfig(server, 500, 32, stateDir), { credentials, connect: connectCluster });
    const lastRunMemory = JSON.stringify(exportInspectionMemory());

    const access = fleetAccess(server);
    const samples: Record<string, RunSample[]> = {};
    // Interleave repetitions so that drift (other load, thermal) spreads over every configuration.
    const maxRepeats = Math.max(...Object.values(REPEATS));
    for (let rep = 0; rep < maxRepeats; rep++) {
      for (const cfg of CONFIGS) {
        if (rep >= (REPEATS[cfg.n] ?? 3)) continue;
        // A new salt every run: each distinct-CA run starts with none of its trust contexts cached.
        const creds = cfg.distinctCa ? new DistinctCaCredentials(access, ` (run ${rep + 1})`) : credentials;
        const sample = await measureRun(
          server,
          fleetConfig(server, cfg.n, cfg.c, stateDir),
          creds,
          cfg.start,
          lastRunMemory,
        );
        samples[cfg.id] = [...(samples[cfg.id] ?? []), sample];
        log(
          `  rep ${rep + 1} ${cfg.label} c=${cfg.c}: ${fmtMs(sample.wallMs)}, ${sample.requests} req, ${sample.parsed} parsed, peak RSS ${fmt(sample.peakRssMb, 0)} MB`,
        );
      }
    }

    const single = median((samples['1@8'] ?? []).map((s) => s.wallMs));
    const rows = CONFIGS.map((cfg) => {
      const list = samples[cfg.id] ?? [];
      const wall = summarize(list.map((s) => s.wallMs));
      const ideal = Math.ceil(cfg.n / cfg.c) * single;
      const requests = median(list.map((s) => s.requests));
      return {
        id: cfg.id,
        label: cfg.label,
        clusters: cfg.n,
        concurrency: cfg.c,
        distinctCa: cfg.distinctCa,
        start: cfg.start,
        parsedPerRun: median(list.map((s) => s.parsed)),
        runs: list.length,
        wallMedianMs: wall.median,
        wallMinMs: wall.min,
        wallMaxMs: wall.max,
        idealMs: ideal,
        ratioToIdeal: wall.median / ideal,
        requests,
        requestsPerSecond: requests / (wall.median / 1000),
        cpuMedianMs: median(list.map((s) => s.cpuMs)),
        simulatorCpuMedianMs: median(list.map((s) => s.simulatorCpuMs)),
        peakRssMb: Math.max(...list.map((s) => s.peakRssMb)),
        baselineRssMb: median(list.map((s) => s.baselineRssMb)),
        peakHeapDeltaMb: Math.max(...list.map((s) => s.peakHeapDeltaMb)),
        retainedHeapDeltaMb: median(list.map((s) => s.retainedHeapDeltaMb)),
        loopDelayP99Ms: median(list.map((s) => s.loopDelayP99Ms)),
        clusterErrors: list.reduce((a, s) => a + s.clusterErrors, 0),
        certificatesPerRun: median(list.map((s) => s.certificates)),
      };
    });

    log('  N = 500, concurrency 32, repeat and first checks on Node 24 (child process) ...');
    const node24 = await onNode24(server, stateDir);
    const node24Ideal = Math.ceil(500 / 32) * node24.singleMs;
    const x509Here = x509ParseMicros(server.caPem);
    const node24Row = (runs: FleetOnNodeRun[]) => {
      const wall = summarize(runs.map((r) => r.wallMs));
      return { wall, ratio: wall.median / node24Ideal, cpuMs: median(runs.map((r) => r.cpuMs)) };
    };
    const node24Warm = node24Row(node24.warm);
    const node24Cold = node24Row(node24.cold);
    const node24Errors = [...node24.warm, ...node24.cold].reduce((a, r) => a + r.errors, 0);
    log(
      `  ${node24.node}: single ${fmtMs(node24.singleMs)}, repeat ${fmt(node24Warm.ratio, 2)}×, first ${fmt(node24Cold.ratio, 2)}× of ideal`,
    );

    log('  timing breakdown at N = 500 ...');
    const breakdowns: Record<string, Record<string, number>> = {};
    for (const c of CONCURRENCIES) {
      breakdowns[String(c)] = await breakdown(
        fleetConfig(server, Math.max(...SIZES), c, stateDir),
        credentials,
      );
    }
    // The profile that explains the concurrency-32 rows: a first check (nothing remembered), where
    // every certificate and key is parsed.
    log('  CPU profile of one N = 500, concurrency 32 first check (inspection memory cleared) ...');
    clearInspectionCache();
    const profiled = await profile(() =>
      checkFleet(fleetConfig(server, Math.max(...SIZES), 32, stateDir), {
        credentials,
        connect: connectCluster,
      }),
    );
    const cpuProfile = summarizeProfile(profiled.profile, profiled.wallMs, 10);
    const trustCost = measureTrustContext(server.caPem);
    const childStats = await server.command('stats');

    const headers = [
      'Clusters',
      'Concurrency',
      'Wall (median)',
      'Ideal',
      'Ratio to ideal',
      'Requests/s',
      'Checker CPU',
      'Simulator CPU',
      'Parsed per run',
      'Peak RSS',
      'Heap Δ (peak)',
      'Event-loop p99',
    ];
    const tableRows = rows.map((r) => [
      r.label,
      String(r.concurrency),
      `${fmtMs(r.wallMedianMs)} (${fmtMs(r.wallMinMs)}–${fmtMs(r.wallMaxMs)})`,
      fmtMs(r.idealMs),
      `${fmt(r.ratioToIdeal, 2)}×`,
      fmt(r.requestsPerSecond, 0),
      fmtMs(r.cpuMedianMs),
      fmtMs(r.simulatorCpuMedianMs),
      fmt(r.parsedPerRun, 0),
      `${fmt(r.peakRssMb, 0)} MB`,
      `${fmt(r.peakHeapDeltaMb, 1)} MB`,
      fmtMs(r.loopDelayP99Ms),
    ]);
    log(consoleTable(headers, tableRows));

    const at500 = rows.find((r) => r.id === '500@8');
    const at500c32 = rows.find((r) => r.id === '500@32');
    const at500c32cold = rows.find((r) => r.id === '500@32-cold');
    const at500c32memory = rows.find((r) => r.id === '500@32-memory');
    const requestsPerCluster = (at500?.requests ?? Number.NaN) / 500;
    const at5000 = rows.find((r) => r.id === '5000@32');
    const distinctRow = rows.find((r) => r.distinctCa);
    const peakRssAll = Math.max(...rows.filter((r) => !r.distinctCa).map((r) => r.peakRssMb));
    const errors = rows.reduce((a, r) => a + r.clusterErrors, 0);
    const distinctRatio = distinctRow?.ratioToIdeal ?? Number.NaN;
    const distinctPeakRss = distinctRow?.peakRssMb ?? Number.NaN;
    const targets: Target[] = [
      {
        name: 'N = 500, concurrency 8, one shared CA (as specified): wall time vs ideal',
        threshold: '≤ 1.5×',
        measured: `${fmt(at500?.ratioToIdeal ?? Number.NaN, 2)}×`,
        pass: (at500?.ratioToIdeal ?? Number.POSITIVE_INFINITY) <= 1.5,
      },
      {
        name: "N = 500, concurrency 32, a new process starting from the last run's memory (a daily CLI check): wall time vs ideal",
        threshold: '≤ 1.5×',
        measured: `${fmt(at500c32memory?.ratioToIdeal ?? Number.NaN, 2)}×`,
        pass: (at500c32memory?.ratioToIdeal ?? Number.POSITIVE_INFINITY) <= 1.5,
      },
      {
        name: `N = 500, concurrency 32, in a process that checked the fleet before (a warm Lambda), on ${process.version} (this machine's Node): wall time vs ideal`,
        threshold: '≤ 1.5×',
        measured: `${fmt(at500c32?.ratioToIdeal ?? Number.NaN, 2)}×`,
        pass: (at500c32?.ratioToIdeal ?? Number.POSITIVE_INFINITY) <= 1.5,
      },
      {
        name: `N = 500, concurrency 32, first check of the process (every certificate and key parsed), on ${process.version} (this machine's Node): wall time vs ideal`,
        threshold: '≤ 1.5×',
        measured: `${fmt(at500c32cold?.ratioToIdeal ?? Number.NaN, 2)}×`,
        pass: (at500c32cold?.ratioToIdeal ?? Number.POSITIVE_INFINITY) <= 1.5,
      },
      {
        name: `N = 500, concurrency 32, in a process that checked the fleet before, on ${node24.node} (the functions' Node): wall time vs ideal`,
        threshold: '≤ 1.5×',
        measured: `${fmt(node24Warm.ratio, 2)}×`,
        pass: node24Warm.ratio <= 1.5,
      },
      {
        name: `N = 500, concurrency 32, first check of the process, on ${node24.node} (the functions' Node): wall time vs ideal`,
        threshold: '≤ 1.5×',
        measured: `${fmt(node24Cold.ratio, 2)}×`,
        pass: node24Cold.ratio <= 1.5,
      },
      {
        name: 'N = 5,000, concurrency 32: peak RSS of the checker',
        threshold: '< 512 MB',
        measured: `${fmt(at5000?.peakRssMb ?? Number.NaN, 0)} MB`,
        pass: (at5000?.peakRssMb ?? Number.POSITIVE_INFINITY) < 512,
      },
      {
        name: 'Peak RSS of the checker, one shared CA (any N)',
        threshold: '< 512 MB',
        measured: `${fmt(peakRssAll, 0)} MB`,
        pass: peakRssAll < 512,
      },
      {
        name: 'N = 500, concurrency 8, a distinct CA per cluster: wall time vs ideal',
        threshold: '≤ 1.5×',
        measured: `${fmt(distinctRatio, 2)}×`,
        pass: distinctRatio <= 1.5,
      },
      {
        name: 'Peak RSS of the checker, a distinct CA per cluster',
        threshold: '< 512 MB',
        measured: `${fmt(distinctPeakRss, 0)} MB`,
        pass: distinctPeakRss < 512,
      },
      {
        name: 'Every cluster read without error',
        threshold: '0 errors',
        measured: String(errors + node24Errors),
        pass: errors + node24Errors === 0,
      },
    ];

    const bd = (c: number) => breakdowns[String(c)] ?? {};
    const breakdownTable = markdownTable(
      [
        'Concurrency (N = 500)',
        'Wall',
        'Checker CPU',
        'Request (TLS + GET), median / p90',
        'reportFor in the fleet, median',
      ],
      CONCURRENCIES.map((c) => [
        String(c),
        fmtMs(bd(c).wallMs ?? Number.NaN),
        fmtMs(bd(c).cpuMs ?? Number.NaN),
        `${fmtMs(bd(c).requestMedianMs ?? Number.NaN)} / ${fmtMs(bd(c).requestP90Ms ?? Number.NaN)}`,
        fmtMs(bd(c).reportInFleetMedianMs ?? Number.NaN),
      ]),
    );
    const b8 = bd(8);
    const reportTable = markdownTable(
      ['One cluster (6 certificates), CPU', 'Median'],
      [
        ['`reportFor` (all of it), nothing remembered', fmtMs(b8.reportIsolatedMedianMs ?? Number.NaN)],
        [
          '`reportFor`, certificates and keys unchanged since the last check',
          fmtMs(b8.reportRememberedMedianMs ?? Number.NaN),
        ],
        ['… 6 × `parseCertificateChain` (X509Certificate)', fmtMs(b8.reportChainsParseMs ?? Number.NaN)],
        [
          '… 6 × key match from the public half each key carries (modulus, point: no key parse)',
          fmtMs(b8.reportKeysPublicHalfMs ?? Number.NaN),
        ],
        [
          'for comparison: 6 × `parsePrivateKey` (the full parse a push still makes)',
          fmtMs(b8.reportKeysParseMs ?? Number.NaN),
        ],
        [
          'for comparison: 6 × `createPrivateKey` on the PEM text',
          fmtMs(b8.reportKeysParseAsPemMs ?? Number.NaN),
        ],
        [
          'for comparison: 6 × `createPrivateKey` on the DER (armour stripped in JS)',
          fmtMs(b8.reportKeysParseAsDerMs ?? Number.NaN),
        ],
      ],
    );
    const profileTable = markdownTable(
      ['Self time, N = 500, concurrency 32, first check (one profiled run)', 'Where', 'ms', '% of samples'],
      cpuProfile.topFunctions.map((f) => [
        labelOf(f.name, f.where),
        f.where,
        fmt(f.selfMs, 0),
        fmt(f.percent, 1),
      ]),
      ['l', 'l', 'r', 'r'],
    );
    const cpuPerCluster = (at500c32cold?.cpuMedianMs ?? Number.NaN) / 500;
    const cpuPerClusterWarm = (at500c32?.cpuMedianMs ?? Number.NaN) / 500;
    const keysShare = (b8.reportKeysParseMs ?? 0) / cpuPerCluster;
    const markdown = [
      `Simulated clusters: 6 certificates each (RSA-2048 with keys; ${server.certificateSets} distinct sets, cluster i serves set i mod ${server.certificateSets}, so the first 500 clusters all differ), 1 node, ${LATENCY_MS} ms added to every API answer, ` +
        `${fmt(requestsPerCluster, 0)} requests per cluster, one after the other on one connection (GET /v1/cluster/certificates, then GET /v1/nodes for the push API the report shows). The ${server.clusters.length} simulators run in a **child process** ` +
        '(`bench/support/fleet-server.ts`), so RSS, heap and CPU are the checker process alone (which also runs this harness under tsx: ' +
        'its baseline RSS is in the JSON). ' +
        `Single-cluster time (median of ${REPEATS[1]} N = 1 runs): **${fmtMs(single)}**; ideal = ceil(N / concurrency) × that. ` +
        `Runs per row: ${SIZES.map((n) => `N=${n}: ${REPEATS[n]}`).join(', ')}, interleaved; wall shows median (min–max). ` +
        'Heap Δ is the peak heapUsed above the post-GC baseline before the run; RSS sampled every 20 ms. ' +
        `Sockets stay bounded: the checker holds at most \`concurrency\` connections (one https.Agent per cluster, destroyed after it), ` +
        `the child ${server.clusters.length} listening sockets; \`ulimit -n\` is ${machine.openFileLimit}.`,
      '',
      markdownTable(headers, tableRows),
      '',
      `The same concurrency-32 checks at N = 500 on ${node24.node}, the functions' Node and inside the package's \`engines\` ` +
        `(this table's other rows run on ${process.version}, this machine's Node), in a child process against the same simulators ` +
        `(\`bench/support/fleet-on-node.ts\`; ${node24.warm.length} of each, interleaved). Its own single-cluster time: ` +
        `${fmtMs(node24.singleMs)}; ideal ${fmtMs(node24Ideal)}. One \`new X509Certificate\` of the fleet's CA costs ` +
        `${fmt(x509Here, 0)} µs of CPU on ${process.version} (OpenSSL ${process.versions.openssl}) and ${fmt(node24.x509ParseUs, 0)} µs on ` +
        `${node24.node}: a first check parses every certificate.`,
      '',
      markdownTable(
        ['Check (N = 500, concurrency 32)', 'Wall (median)', 'Ideal', 'Ratio to ideal', 'Checker CPU'],
        [
          [
            `repeat check (${node24.node})`,
            `${fmtMs(node24Warm.wall.median)} (${fmtMs(node24Warm.wall.min)}–${fmtMs(node24Warm.wall.max)})`,
            fmtMs(node24Ideal),
            `${fmt(node24Warm.ratio, 2)}×`,
            fmtMs(node24Warm.cpuMs),
          ],
          [
            `first check of the process (${node24.node})`,
            `${fmtMs(node24Cold.wall.median)} (${fmtMs(node24Cold.wall.min)}–${fmtMs(node24Cold.wall.max)})`,
            fmtMs(node24Ideal),
            `${fmt(node24Cold.ratio, 2)}×`,
            fmtMs(node24Cold.cpuMs),
          ],
        ],
      ),
      '',
      targetsTable(targets),
      '',
      'Where the time goes at N = 500 (the same calls as `checkCluster`, phases timed from outside):',
      '',
      breakdownTable,
      '',
      reportTable,
      '',
      profileTable,
      '',
      'The check remembers what it parsed (lambdas/domain/certificate.ts: chain details by SHA-256 of the PEM, the key match by a digest ' +
        'of the certificate and key, never the key): a process that checks the same fleet again parses only what changed. ' +
        'Rows marked "first check of the process" clear that memory first, as a cold Lambda or a CLI\'s very first run starts; ' +
        `"new process with the last run's memory" rows clear it and load the JSON the last run left (the CLI keeps it in ` +
        'stateDir/inspection-memory.json; its parse is inside the timed run); the other rows run in a process that has checked ' +
        "the fleet before (a warm Lambda). 'Parsed per run' counts the chains and keys parsed. " +
        `First check: ~${fmtMs(cpuPerCluster)} of checker CPU per cluster; repeat check: ~${fmtMs(cpuPerClusterWarm)}.`,
      '',
      `In a first check the checker spends about ${fmtMs(cpuPerCluster)} of CPU per cluster on one thread: the TLS handshake, ` +
        `and \`reportFor\` (${fmtMs(b8.reportIsolatedMedianMs ?? Number.NaN)}): parsing the six chains is ` +
        `${fmtMs(b8.reportChainsParseMs ?? Number.NaN)}; the key match reads each key's public half ` +
        `(${fmtMs(b8.reportKeysPublicHalfMs ?? Number.NaN)} for six) where parsing the keys would take ` +
        `${fmtMs(b8.reportKeysParseMs ?? Number.NaN)} (~${fmt(100 * keysShare, 0)} % of the per-cluster CPU). ` +
        `With concurrency 8 that is ~${fmtMs(cpuPerCluster * 8)} of CPU per round against ${LATENCY_MS} ms of latency, so answers queue ` +
        `behind other clusters' CPU work; at concurrency 32 (~${fmtMs(cpuPerCluster * 32)} per round) the checker is CPU-bound and the ` +
        'ratio to ideal grows, while absolute time still drops.',
      '',
      `**A distinct pinned CA per cluster** (every RS cluster ships its own CA; the "distinct CA" row gives each cluster a different ` +
        'caPem, new at every run, so every run starts with an empty trust-context cache): the product builds one `trustContext` ' +
        '(lambdas/domain/trust.ts) per distinct set of extra PEMs and caches it for the life of the process; ' +
        `one costs ${fmtMs(trustCost.ms)} of CPU and ${trustCost.rssKb < 1 ? 'no measurable RSS' : `~${fmt(trustCost.rssKb, 0)} KB of RSS`} (40 measured alone). ` +
        `At N = 500 that row took ${fmtMs(distinctRow?.wallMedianMs ?? Number.NaN)} (${fmt(distinctRatio, 2)}× ideal) with ` +
        `${fmtMs(((distinctRow?.cpuMedianMs ?? Number.NaN) - (at500?.cpuMedianMs ?? Number.NaN)) / 500)} more checker CPU per cluster ` +
        `than with one shared CA, and peaked at ${fmt(distinctPeakRss, 0)} MB.`,
    ].join('\n');

    const result: Result = {
      name: 'fleet-check',
      title: 'Fleet check (`checkFleet`)',
      markdown,
      targets,
      durationMs: performance.now() - started,
      data: {
        latencyMs: LATENCY_MS,
        singleClusterMs: single,
        simulatorsInChildProcess: true,
        simulatorStartMs: server.startMs,
        simulatorChildRssMb: childStats.rssMb,
        rows,
        breakdownAt500: breakdowns,
        cpuProfileAt500c8: cpuProfile,
        distinctCaPerCluster: {
          trustContext: trustCost,
        },
        samples,
        node24: {
          node: node24.node,
          singleMs: node24.singleMs,
          idealMs: node24Ideal,
          warm: node24Warm,
          cold: node24Cold,
          runs: { warm: node24.warm, cold: node24.cold },
          x509ParseUs: { [process.version]: x509Here, [node24.node]: node24.x509ParseUs },
        },
        maxRssKbLifetime: process.resourceUsage().maxRSS,
      },
    };
    writeResult(result, machine);
    return result;
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
