/** Shared by every benchmark: machine info, statistics, tables, result files. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const REPO_DIR = dirname(BENCH_DIR);
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export interface Target {
  name: string;
  /** Human-readable threshold, e.g. "< 100 ms". */
  threshold: string;
  measured: string;
  pass: boolean;
}

export interface Result {
  name: string;
  title: string;
  /** Markdown section for SUMMARY.md (tables and notes), without the title. */
  markdown: string;
  targets: Target[];
  durationMs: number;
  data: unknown;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  totalMemoryMb: number;
  node: string;
  platform: string;
  openssl: string;
  openFileLimit: string;
  loadAverageAtStart: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  let openFileLimit = 'unknown';
  try {
    openFileLimit = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  } catch {
    // keep 'unknown'
  }
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    openssl: process.versions.openssl ?? 'unknown',
    openFileLimit,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.totalMemoryMb} MB RAM, Node ${m.node} (OpenSSL ${m.openssl}), ${m.platform}, ${m.date.slice(0, 10)}`;
}

// ---- statistics ---------------------------------------------------------

export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  const s = sorted(values);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
export const p90 = (values: readonly number[]): number => quantile(values, 0.9);

export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  return {
    n: s.length,
    median: median(s),
    p90: p90(s),
    min: s[0] ?? Number.NaN,
    max: s[s.length - 1] ?? Number.NaN,
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}

// ---- formatting ---------------------------------------------------------

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 10_000) return `${fmt(ms / 1000, 1)} s`;
  if (ms >= 1000) return `${fmt(ms / 1000, 2)} s`;
  if (ms >= 100) return `${fmt(ms, 0)} ms`;
  if (ms >= 10) return `${fmt(ms, 1)} ms`;
  if (ms >= 1) return `${fmt(ms, 2)} ms`;
  return `${fmt(ms * 1000, 0)} µs`;
}

export function markdownTable(headers: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const sep = headers.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), line(sep), ...rows.map(line)].join('\n');
}

/** Plain-text table for the console. */
export function consoleTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function targetsTable(targets: Target[]): string {
  return markdownTable(
    ['Target', 'Threshold', 'Measured', 'Result'],
    targets.map((t) => [t.name, t.threshold, t.measured, t.pass ? 'met' : '**missed**']),
    ['l', 'l', 'r', 'l'],
  );
}

// ---- results ------------------------------------------------------------

export function writeResult(result: Result, machine: MachineInfo): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  const payload = {
    name: result.name,
    title: result.title,
    machine,
    durationMs: Math.round(result.durationMs),
    targets: result.targets,
    data: result.data,
  };
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}

export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** Runs `run` when the module is executed directly (`tsx bench/x.bench.ts`), not when imported. */
export function runIfMain(metaUrl: string, run: () => Promise<unknown>): void {
  const entry = process.argv[1];
  if (entry && pathToFileURL(entry).href === metaUrl) {
    run().catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
  }
}

/** Environment for child processes: the sandbox's NODE_EXTRA_CA_CERTS would add a CA-bundle parse to start-up. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Best-effort full GC (exposes gc at runtime; a no-op if V8 refuses). */
export async function collectGarbage(): Promise<void> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (() => void) | undefined;
    gc?.();
    gc?.();
  } catch {
    // not available
  }
}

export const TSX_BIN = join(REPO_DIR, 'node_modules', '.bin', 'tsx');
