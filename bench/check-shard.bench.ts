/**
 * The check shard: CPU per cluster checked, at 50 and 500 clusters per shard, on the bundle the
 * Lambda runs (lambdas/handlers/check.ts's handler, built with the stack's esbuild options through
 * bench/support/check-shard-entry.ts), on the Lambda's Node (24), against simulated clusters in
 * another process (bench/support/fleet-server.ts: 1 node, six certificates each, a distinct
 * certificate set and pinned CA text per cluster).
 *
 * Each shard runs in a fresh process (bench/support/check-shard-child.mjs): one cold invocation (a
 * new Lambda environment: every certificate parsed) then warm ones (a reused environment). CPU is
 * the process's user + system time during the invocation, divided by the clusters checked.
 *
 * Issue 24 asks to halve today's figure: the same measurement runs, interleaved, on the code of
 * BASELINE_COMMIT (the check path before issue 24's work, extracted with `git archive`), so the
 * ratio is measured in one run on one machine. Until the shard handler lands, the event is the
 * check function's `{}` over a config of exactly the shard's clusters; `EVENT` switches to the
 * Step Functions ItemBatcher shape (`Items` / `BatchInput`) once it has.
 *
 * The TLS alone is measured per cluster too, on the same Node and simulators
 * (bench/support/tls-floor.mjs): a cold cluster's new context and verified full handshake, a warm
 * one's resumed handshake. It is the floor under the CPU targets, and the summary says how much of
 * each halved target it takes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { lambdaBuildOptions } from '../lib/bundling/esbuild-options';
import { node24Binary } from '../test/support/lambda/invoke';
import { LATENCY_MS as FLEET_LATENCY_MS } from './fleet-check.bench';
import {
  BENCH_DIR,
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
  type Target,
  targetsTable,
  writeResult,
} from './support/common';
import type { Profile } from './support/cpu-profile';
import { type FleetServer, startFleetServer } from './support/fleet-harness';
import { breakdownByPackage, medianBreakdown, type PackageBreakdown } from './support/profile-packages';

/** The check path before issue 24 (the branch point of that work). */
export const BASELINE_COMMIT = '8e99b1c';
const SHARD_SIZES = [50, 500] as const;
/** Fresh processes per shard size and variant, interleaved (baseline, current, baseline, ...). */
const ROUNDS = 3;
const WARM_RUNS = 3;
const LATENCY_MS = 5;
/** The config's `concurrency` in the shard (the fleet issue's c = 32). */
const SHARD_CONCURRENCY = 32;
/** Which event the handler gets: today's check (`{}`), or the shard's ItemBatcher batch. */
const EVENT: 'check' | 'shard' = 'shard';

export function shardEvent(clusters: readonly string[]): unknown {
  if (EVENT === 'check') return {};
  return {
    Items: clusters.map((cluster) => ({ cluster })),
    BatchInput: { execution: 'bench-check-shard', input: {} },
  };
}

interface ChildOutput {
  node: string;
  load: { wallMs: number; cpuMs: number };
  cold: Invocation;
  warm: Invocation[];
  logBytes: number;
  rssMb: number;
}
interface Invocation {
  wallMs: number;
  cpuMs: number;
  clusters: number;
  errors: number;
}

const execFileAsync = promisify(execFile);

/** Bundles the shard entry from `root` (the worktree, or the baseline's extracted tree). */
export async function bundleFrom(root: string, outdir: string): Promise<string> {
  await build({
    ...lambdaBuildOptions(REPO_DIR),
    absWorkingDir: root,
    entryPoints: { index: 'bench/support/check-shard-entry.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
  return join(outdir, 'index.mjs');
}

/** The baseline's product code next to this bench's entry, resolving packages from this repository. */
function extractBaseline(dir: string): string | undefined {
  try {
    const root = join(dir, 'baseline');
    mkdirSync(root, { recursive: true });
    const tar = execFileSync('git', ['-C', REPO_DIR, 'archive', BASELINE_COMMIT, 'lambdas', 'lib/bundling'], {
      maxBuffer: 256 * 2 ** 20,
    });
    execFileSync('tar', ['-x', '-C', root], { input: tar });
    mkdirSync(join(root, 'bench', 'support'), { recursive: true });
    writeFileSync(
      join(root, 'bench', 'support', 'check-shard-entry.ts'),
      readFileSync(join(BENCH_DIR, 'support', 'check-shard-entry.ts')),
    );
    symlinkSync(join(REPO_DIR, 'node_modules'), join(root, 'node_modules'));
    symlinkSync(join(REPO_DIR, 'tsconfig.json'), join(root, 'tsconfig.json'));
    return root;
  } catch (error) {
    log(`  baseline ${BASELINE_COMMIT} not extracted: ${(error as Error).message}`);
    return undefined;
  }
}

export async function runShard(
  node: string,
  bundle: string,
  server: FleetServer,
  n: number,
  dir: string,
  profileOut?: string,
  flag?: string,
  /** Given: the state (and inspection memory) a previous process left; else a new, empty one. */
  keptStateDir?: string,
): Promise<ChildOutput> {
  const stateDir = keptStateDir ?? mkdtempSync(join(dir, 'state-'));
  const names = server.clusters.slice(0, n).map((_, i) => `shard-${i + 1}`);
  const setupFile = join(dir, `setup-${n}.json`);
  writeFileSync(
    setupFile,
    JSON.stringify({
      config: {
        stateDir,
        concurrency: SHARD_CONCURRENCY,
        clusters: server.clusters.slice(0, n).map((c, i) => ({
          name: names[i],
          endpoint: c.url,
          credentialsSecret: `bench/${names[i]}`,
        })),
      },
      stateDir,
      access: { username: server.username, password: server.password, caPem: server.caPem },
      distinctCa: true,
    }),
  );
  const eventFile = join(dir, `event-${n}.json`);
  writeFileSync(eventFile, JSON.stringify(shardEvent(names)));
  const { stdout } = await execFileAsync(
    node,
    [
      join(BENCH_DIR, 'support', 'check-shard-child.mjs'),
      bundle,
      setupFile,
      eventFile,
      profileOut ?? '-',
      String(WARM_RUNS),
      ...(flag ? [flag] : []),
    ],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', POWERTOOLS_METRICS_NAMESPACE: 'bench' },
      maxBuffer: 64 * 2 ** 20,
    },
  );
  if (!keptStateDir) rmSync(stateDir, { recursive: true, force: true });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ChildOutput;
}

interface TlsFloor {
  node: string;
  /** Per cluster, ms of CPU: a new context for its CA and a verified full handshake. */
  cold: number[];
  /** Per cluster, ms of CPU: a resumed handshake under the kept context. */
  warm: number[];
  resumed: number;
}

/**
 * The TLS alone, per cluster, on the shard's Node against the same simulators
 * (bench/support/tls-floor.mjs): what a cold and a warm check of a cluster cost before any request,
 * JSON or report. The floor under the CPU targets.
 */
async function measureTlsFloor(node: string, server: FleetServer, n: number, dir: string): Promise<TlsFloor> {
  const setupFile = join(dir, 'tls-floor.json');
  writeFileSync(
    setupFile,
    JSON.stringify({ urls: server.clusters.slice(0, n).map((c) => c.url), caPem: server.caPem }),
  );
  const { stdout } = await execFileAsync(node, [join(BENCH_DIR, 'support', 'tls-floor.mjs'), setupFile], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
    maxBuffer: 64 * 2 ** 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as TlsFloor;
}

/** The floor against the halved targets: how much of each target the TLS alone takes. */
function floorLine(floors: TlsFloor[], cells: Cell[]): string {
  if (floors.length === 0) return '';
  const floor = floors[0] as TlsFloor;
  // The median over the rounds of each round's median per cluster, like the shards' figures.
  const coldFloor = median(floors.map((f) => median(f.cold)));
  const warmFloor = median(floors.map((f) => median(f.warm)));
  const resumed = floors.reduce((a, f) => a + f.resumed, 0);
  const tried = floors.reduce((a, f) => a + f.warm.length, 0);
  const halves = SHARD_SIZES.flatMap((n) => {
    const base = cells.find((c) => c.variant === 'baseline' && c.n === n);
    const cur = cells.find((c) => c.variant === 'current' && c.n === n);
    if (!base || !cur) return [];
    const cold = 0.5 * median(base.coldPerCluster);
    const warm = 0.5 * median(base.warmPerCluster);
    // What this tree spends beside the TLS in a warm check: the requests, their JSON, the report.
    const rest = median(cur.warmPerCluster) - warmFloor;
    return [
      `N = ${n}: cold ${fmt(cold, 2)} ms (the TLS alone is ${fmt(coldFloor / cold, 2)}× of it; with the rest of a warm check, ` +
        `${fmt(rest, 2)} ms, ${fmt((coldFloor + rest) / cold, 2)}×), warm ${fmt(warm, 2)} ms (the TLS alone ${fmt(warmFloor / warm, 2)}×)`,
    ];
  });
  return (
    `The TLS alone, per cluster (bench/support/tls-floor.mjs, ${floor.node}, the same ${floor.cold.length} simulators, one ` +
    "connection at a time, no request): a new context for the cluster's CA and a verified full handshake " +
    `${fmt(coldFloor, 2)} ms of CPU (median), a resumed handshake under the kept context ${fmt(warmFloor, 2)} ms ` +
    `(${resumed} of ${tried} resumed; measured in each of the ${floors.length} rounds at N = ${floor.cold.length}, after its shards). ` +
    (halves.length ? `The halved targets per cluster: ${halves.join('; ')}.` : '')
  );
}

/** Shard walls at bench/fleet-check's latency: one cluster alone and each shard size, cold and warm. */
async function measureWalls(node: string, bundle: string, dir: string) {
  const server = await startFleetServer(Math.max(...SHARD_SIZES), FLEET_LATENCY_MS, Math.max(...SHARD_SIZES));
  const single = { cold: [] as number[], warm: [] as number[] };
  const shard: Record<string, number[]> = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const n of [1, ...SHARD_SIZES]) {
        // The first process leaves the inspection memory a cold start finds from the second run on.
        const stateDir = mkdtempSync(join(dir, 'state-'));
        await runShard(node, bundle, server, n, dir, undefined, undefined, stateDir);
        const out = await runShard(node, bundle, server, n, dir, undefined, undefined, stateDir);
        rmSync(stateDir, { recursive: true, force: true });
        const warm = median(out.warm.map((w) => w.wallMs));
        if (n === 1) {
          single.cold.push(out.cold.wallMs);
          single.warm.push(warm);
        } else {
          shard[`${n}-cold`] = [...(shard[`${n}-cold`] ?? []), out.cold.wallMs];
          shard[`${n}-warm`] = [...(shard[`${n}-warm`] ?? []), warm];
        }
        log(
          `  ${FLEET_LATENCY_MS} ms per answer, N=${n}: cold wall ${fmtMs(out.cold.wallMs)}, warm wall ${fmtMs(warm)}`,
        );
      }
    }
  } finally {
    await server.stop();
  }
  return { single, shard };
}

interface Cell {
  variant: 'baseline' | 'current';
  n: number;
  /** The very first check (no inspection memory anywhere: every certificate and key parsed). */
  firstPerCluster: number[];
  /** A new environment that loads the memory the first one saved (a Lambda cold start, day 2 on). */
  coldPerCluster: number[];
  warmPerCluster: number[];
  coldWall: number[];
  warmWall: number[];
  loadCpu: number[];
  errors: number;
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  log('\n## check-shard: CPU per cluster checked, on the Lambda bundle (50 and 500 clusters per shard)');
  const dir = mkdtempSync(join(tmpdir(), 'bench-shard-'));
  const maxN = Math.max(...SHARD_SIZES);
  const server = await startFleetServer(maxN, LATENCY_MS, maxN);
  try {
    let node: string;
    try {
      node = node24Binary();
    } catch {
      node = process.execPath;
    }
    const current = await bundleFrom(REPO_DIR, join(dir, 'current'));
    const baselineRoot = extractBaseline(dir);
    const baseline = baselineRoot ? await bundleFrom(baselineRoot, join(dir, 'baseline-out')) : undefined;
    const variants = [
      ...(baseline ? [{ variant: 'baseline' as const, bundle: baseline }] : []),
      { variant: 'current' as const, bundle: current },
    ];
    const cells: Cell[] = [];
    const floors: TlsFloor[] = [];
    let nodeVersion = '';
    for (const n of SHARD_SIZES) {
      const byVariant = new Map(
        variants.map((v) => [
          v.variant,
          {
            variant: v.variant,
            n,
            firstPerCluster: [],
            coldPerCluster: [],
            warmPerCluster: [],
            coldWall: [],
            warmWall: [],
            loadCpu: [],
            errors: 0,
          } as Cell,
        ]),
      );
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? variants : [...variants].reverse();
        for (const v of order) {
          const stateDir = mkdtempSync(join(dir, 'state-'));
          const first = await runShard(node, v.bundle, server, n, dir, undefined, undefined, stateDir);
          const out = await runShard(node, v.bundle, server, n, dir, undefined, undefined, stateDir);
          rmSync(stateDir, { recursive: true, force: true });
          nodeVersion = out.node;
          const cell = byVariant.get(v.variant) as Cell;
          cell.firstPerCluster.push(first.cold.cpuMs / n);
          cell.errors += first.cold.errors;
          cell.coldPerCluster.push(out.cold.cpuMs / n);
          cell.coldWall.push(out.cold.wallMs);
          cell.warmWall.push(median(out.warm.map((w) => w.wallMs)));
          cell.warmPerCluster.push(median(out.warm.map((w) => w.cpuMs)) / n);
          cell.loadCpu.push(out.load.cpuMs);
          cell.errors += out.cold.errors + out.warm.reduce((a, w) => a + w.errors, 0);
          if (out.cold.clusters !== n) cell.errors += n;
          log(
            `  N=${n} ${v.variant}: first ${fmt(first.cold.cpuMs / n, 2)} ms/cluster, cold ${fmt(out.cold.cpuMs / n, 2)} ms/cluster, warm ${fmt(median(out.warm.map((w) => w.cpuMs)) / n, 2)} ms/cluster, cold wall ${fmtMs(out.cold.wallMs)}`,
          );
        }
        // The TLS alone, in the same rounds as the shards it is compared with (the machine's speed drifts).
        if (n === maxN) {
          const floor = await measureTlsFloor(node, server, n, dir);
          floors.push(floor);
          log(
            `  N=${n} TLS alone: cold ${fmt(median(floor.cold), 3)} ms/cluster, warm ${fmt(median(floor.warm), 3)} ms/cluster (${floor.resumed} of ${floor.warm.length} resumed)`,
          );
        }
      }
      cells.push(...byVariant.values());
    }

    // The fleet issue's bound, as the shard runs it: at bench/fleet-check's latency (an answer
    // FLEET_LATENCY_MS away), each shard's cold and warm invocation against ⌈N / concurrency⌉ × one
    // cluster's check alone (a shard of one, same bundle, same server), as bench/fleet-check holds the
    // CLI's check. At this bench's own LATENCY_MS the shard is CPU-bound: that is the CPU target.
    const wall = await measureWalls(node, current, dir);
    // Where the current code's CPU goes, per cluster: profiles of a cold and a warm invocation.
    const profiles: Record<string, PackageBreakdown | undefined> = {};
    for (const n of SHARD_SIZES) {
      for (const phase of ['cold', 'warm'] as const) {
        const runs: PackageBreakdown[] = [];
        for (let i = 0; i < 2; i++) {
          const file = join(dir, `profile-${n}-${phase}-${i}.cpuprofile`);
          const stateDir = mkdtempSync(join(dir, 'state-'));
          await runShard(node, current, server, n, dir, undefined, undefined, stateDir);
          const flag = phase === 'cold' ? '--profile-cold' : undefined;
          await runShard(node, current, server, n, dir, file, flag, stateDir);
          rmSync(stateDir, { recursive: true, force: true });
          runs.push(breakdownByPackage(JSON.parse(readFileSync(file, 'utf8')) as Profile));
        }
        profiles[`${n}-${phase}`] = medianBreakdown(runs);
      }
    }

    const get = (variant: Cell['variant'], n: number) =>
      cells.find((c) => c.variant === variant && c.n === n);
    const targets: Target[] = [];
    for (const n of SHARD_SIZES) {
      const cur = get('current', n) as Cell;
      const base = get('baseline', n);
      for (const phase of ['cold', 'warm'] as const) {
        const c = median(phase === 'cold' ? cur.coldPerCluster : cur.warmPerCluster);
        const b = base ? median(phase === 'cold' ? base.coldPerCluster : base.warmPerCluster) : Number.NaN;
        targets.push({
          name: `N = ${n} per shard, ${phase === 'cold' ? 'a new environment (cold)' : 'a reused environment (warm)'}: CPU per cluster vs ${BASELINE_COMMIT}`,
          threshold: '≤ 0.50×',
          measured: base
            ? `${fmt(c / b, 2)}× (${fmt(c, 2)} vs ${fmt(b, 2)} ms)`
            : `${fmt(c, 2)} ms (no baseline)`,
          pass: base ? c <= 0.5 * b : false,
        });
      }
    }
    for (const n of SHARD_SIZES) {
      const rounds = Math.ceil(n / SHARD_CONCURRENCY);
      for (const phase of ['cold', 'warm'] as const) {
        const measured = median(wall.shard[`${n}-${phase}`] ?? []);
        const ideal = rounds * median(wall.single[phase]);
        targets.push({
          name: `N = ${n} per shard, concurrency ${SHARD_CONCURRENCY}, ${FLEET_LATENCY_MS} ms per answer, ${phase === 'cold' ? 'a new environment (cold)' : 'a reused environment (warm)'}: wall vs ideal (⌈N / ${SHARD_CONCURRENCY}⌉ × one cluster's ${phase} check alone)`,
          threshold: '≤ 1.5×',
          measured: `${fmt(measured / ideal, 2)}× (${fmtMs(measured)} vs ${fmtMs(ideal)})`,
          pass: measured <= 1.5 * ideal,
        });
      }
    }
    targets.push({
      name: 'Every cluster read without error',
      threshold: '0 errors',
      measured: String(cells.reduce((a, c) => a + c.errors, 0)),
      pass: cells.every((c) => c.errors === 0),
    });

    const headers = [
      'Shard',
      'Code',
      'CPU/cluster, first check ever (median)',
      'CPU/cluster cold (median)',
      'CPU/cluster warm (median)',
      'Cold invocation wall',
      'Warm invocation wall',
      'Bundle load CPU',
    ];
    const rows = cells.map((c) => [
      `${c.n} clusters`,
      c.variant === 'baseline' ? `${BASELINE_COMMIT} (before)` : 'this tree',
      `${fmt(median(c.firstPerCluster), 2)} ms`,
      `${fmt(median(c.coldPerCluster), 2)} ms`,
      `${fmt(median(c.warmPerCluster), 2)} ms`,
      fmtMs(median(c.coldWall)),
      fmtMs(median(c.warmWall)),
      fmtMs(median(c.loadCpu)),
    ]);
    log(consoleTable(headers, rows));
    const perCluster = (b: PackageBreakdown | undefined, n: number) =>
      b
        ? b.parts
            .filter((p) => p.ms / n >= 0.005)
            .map((p) => `${p.part} ${fmt(p.ms / n, 3)}`)
            .join('; ')
        : 'n/a';
    const profileTable = markdownTable(
      ['Shard', 'Invocation', 'Sampled per cluster', 'Per cluster by package or activity (ms)'],
      SHARD_SIZES.flatMap((n) =>
        (['cold', 'warm'] as const).map((phase) => {
          const b = profiles[`${n}-${phase}`];
          return [`${n}`, phase, b ? `${fmt(b.sampledMs / n, 3)} ms` : 'n/a', perCluster(b, n)];
        }),
      ),
      ['r', 'l', 'r', 'l'],
    );
    for (const [k, b] of Object.entries(profiles))
      log(`  profile ${k}: ${perCluster(b, Number(k.split('-')[0]))}`);
    log(`  ${floorLine(floors, cells)}`);
    const markdown = [
      `The check function's handler bundled as the stack bundles it, run by ${nodeVersion || 'node'} in a fresh process per shard ` +
        `(${ROUNDS} per size and code, interleaved with ${BASELINE_COMMIT}'s code; ${WARM_RUNS} warm invocations after the cold one). ` +
        `Event: ${EVENT === 'check' ? "today's check (`{}` over a config of the shard's clusters)" : 'the shard batch (`Items`, `BatchInput`)'}. ` +
        `Simulated clusters in another process, ${LATENCY_MS} ms per answer, a distinct certificate set and CA text per cluster. ` +
        'CPU: the process user + system time during the invocation, per cluster checked. "First check ever": a process with no ' +
        'inspection memory (every certificate and key parsed); "cold": a new process loading the memory the first saved (what a ' +
        'Lambda cold start finds from the second run on); "warm": later invocations of that process. The targets are on cold and warm.',
      '',
      markdownTable(headers, rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']),
      '',
      `Wall against the fleet issue's bound, at bench/fleet-check's ${FLEET_LATENCY_MS} ms per answer (${ROUNDS} fresh processes per ` +
        `size, this tree): one cluster alone (a shard of one) cold ${fmtMs(median(wall.single.cold))}, warm ` +
        `${fmtMs(median(wall.single.warm))}; ${SHARD_SIZES.map((n) => `${n} clusters cold ${fmtMs(median(wall.shard[`${n}-cold`] ?? []))}, warm ${fmtMs(median(wall.shard[`${n}-warm`] ?? []))}`).join('; ')}. ` +
        `Each shard is compared with ⌈N / ${SHARD_CONCURRENCY}⌉ of the one-cluster figure, the bound bench/fleet-check holds the CLI's check to.`,
      '',
      targetsTable(targets),
      '',
      floorLine(floors, cells),
      '',
      'Where the current code spends each cluster’s CPU (profiles at 200 µs, source-mapped to packages; median of 2 per row; ' +
        '"waiting" is idle time, not CPU):',
      '',
      profileTable,
    ].join('\n');
    const result: Result = {
      name: 'check-shard',
      title: 'Check shard: CPU per cluster on the Lambda bundle',
      markdown,
      targets,
      durationMs: performance.now() - started,
      data: {
        cells,
        profiles,
        wall: { latencyMs: FLEET_LATENCY_MS, ...wall },
        tlsFloor: floors,
        baselineCommit: BASELINE_COMMIT,
        event: EVENT,
        node: nodeVersion,
      },
    };
    writeResult(result, machine);
    return result;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
