/**
 * The README's benchmark figures, generated from bench/results/*.json so they cannot drift: every
 * block between `<!-- bench:NAME -->` and `<!-- /bench -->` is rewritten from the results files.
 *
 *   tsx scripts/readme-figures.ts          rewrites README.md
 *   tsx scripts/readme-figures.ts --check  exits 1 when README.md differs from the results
 *
 * test/unit/readme-figures.test.ts runs the check in `npm test`; `npm run bench` rewrites the blocks.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
export const README = join(REPO, 'README.md');
const RESULTS = join(REPO, 'bench', 'results');

interface Target {
  name: string;
  threshold: string;
  measured: string;
  pass: boolean;
}
interface ResultFile {
  name: string;
  title: string;
  machine: {
    cpuModel: string;
    cores: number;
    totalMemoryMb: number;
    node: string;
    openssl: string;
    date: string;
    loadAverageAtStart: number[];
  };
  targets: Target[];
  // biome-ignore lint/suspicious/noExplicitAny: the shape differs per benchmark; each block reads its own fields
  data: any;
}

type Results = Record<string, ResultFile | undefined>;

export function loadResults(dir = RESULTS): Results {
  const out: Results = {};
  for (const name of [
    'fleet-check',
    'check-shard',
    'cli',
    'cold-start',
    'crypto',
    'issuance',
    'x509-signing',
  ]) {
    const file = join(dir, `${name}.json`);
    if (existsSync(file)) out[name] = JSON.parse(readFileSync(file, 'utf8')) as ResultFile;
  }
  return out;
}

// Formatting as the benches do (bench/support/common.ts), without importing the bench harness.
function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 10_000) return `${fmt(value / 1000, 1)} s`;
  if (value >= 1000) return `${fmt(value / 1000, 2)} s`;
  if (value >= 100) return `${fmt(value, 0)} ms`;
  if (value >= 10) return `${fmt(value, 1)} ms`;
  if (value >= 1) return `${fmt(value, 2)} ms`;
  return `${fmt(value * 1000, 0)} µs`;
}
function table(headers: string[], rows: string[][], align: string): string {
  const sep = [...align].map((a) => (a === 'r' ? '---:' : '---'));
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), line(sep), ...rows.map(line)].join('\n');
}

const RENDERERS: Record<string, (r: Results) => string> = {
  machine: (r) => {
    const m = Object.values(r).find((x) => x)?.machine;
    if (!m) return 'No results yet: run `npm run bench`.';
    const loads = Object.values(r)
      .filter((x): x is ResultFile => x !== undefined)
      .map((x) => `${x.name} ${x.machine.loadAverageAtStart[0]}`)
      .join(', ');
    return (
      `Machine: ${m.cpuModel}, ${m.cores} cores, ${fmt(m.totalMemoryMb / 1024, 0)} GB, Node ${m.node} (OpenSSL ${m.openssl}), ` +
      `${m.date.slice(0, 10)}. The machine is shared with other test runs: each bench interleaves what it compares and reports ` +
      `medians; 1-minute load average when each bench started: ${loads}.`
    );
  },
  targets: (r) =>
    table(
      ['Benchmark', 'Target', 'Threshold', 'Measured', ''],
      Object.values(r).flatMap((x) =>
        x
          ? x.targets.map((t) => [x.title, t.name, t.threshold, t.measured, t.pass ? 'met' : '**missed**'])
          : [],
      ),
      'lllrl',
    ),
  fleet: (r) => {
    const rows = (r['fleet-check']?.data?.rows ?? []) as Array<Record<string, number | string | boolean>>;
    // The concurrency-32 checks again on the functions' Node (bench/support/fleet-on-node.ts).
    const node24 = r['fleet-check']?.data?.node24 as
      | {
          node: string;
          idealMs: number;
          warm: { wall: { median: number }; ratio: number; cpuMs: number };
          cold: { wall: { median: number }; ratio: number; cpuMs: number };
        }
      | undefined;
    const onNode24 = node24
      ? (
          [
            ['500', node24.warm],
            ['500, first check of the process', node24.cold],
          ] as const
        ).map(([label, x]) => [
          `${label}, on ${node24.node}`,
          '32',
          ms(x.wall.median),
          ms(node24.idealMs),
          `${fmt(x.ratio, 2)}×`,
          ms(x.cpuMs),
          '–',
          '–',
        ])
      : [];
    return table(
      [
        'Clusters',
        'Concurrency',
        'Wall (median)',
        'Ideal',
        'Ratio',
        'Checker CPU',
        'Parsed per run',
        'Peak RSS',
      ],
      rows
        .map((x) => [
          String(x.label),
          String(x.concurrency),
          ms(Number(x.wallMedianMs)),
          ms(Number(x.idealMs)),
          `${fmt(Number(x.ratioToIdeal), 2)}×`,
          ms(Number(x.cpuMedianMs)),
          x.parsedPerRun === undefined ? '–' : fmt(Number(x.parsedPerRun), 0),
          `${fmt(Number(x.peakRssMb), 0)} MB`,
        ])
        .concat(onNode24),
      'lrrrrrrr',
    );
  },
  bundles: (r) => {
    const bundles = (r['cold-start']?.data?.bundles ?? []) as Array<{
      handler: string;
      bytes?: number;
      gzipBytes?: number;
      importMs: { median: number };
      processMs: { median: number };
    }>;
    return table(
      ['Handler', 'Minified', 'Gzipped', 'Module load (median)', 'Fresh process (median)'],
      bundles.map((b) => [
        b.handler,
        b.bytes ? `${fmt(b.bytes / 1024, 0)} KB` : '–',
        b.gzipBytes ? `${fmt(b.gzipBytes / 1024, 0)} KB` : '–',
        ms(b.importMs.median),
        ms(b.processMs.median),
      ]),
      'lrrrr',
    );
  },
  cli: (r) => {
    const rows = (r.cli?.data?.rows ?? []) as Array<{
      label: string;
      ok: number;
      runs: number;
      wall: { median: number; p90: number };
      cpu: { median: number };
    }>;
    return table(
      ['Command (whole process)', 'OK', 'Wall (median)', 'Wall p90', 'CPU (median)'],
      rows.map((x) => [x.label, `${x.ok}/${x.runs}`, ms(x.wall.median), ms(x.wall.p90), ms(x.cpu.median)]),
      'lrrrr',
    );
  },
  issuance: (r) => {
    const rows = (r.issuance?.data?.rows ?? []) as Array<{
      id: string;
      label: string;
      succeeded: number;
      wall: { median: number; p90: number };
    }>;
    const lego = rows.find((x) => x.id === 'lego')?.wall.median ?? Number.NaN;
    return table(
      ['Client', 'Wall (median)', 'p90', 'vs lego'],
      rows.map((x) => [
        x.label,
        x.succeeded ? ms(x.wall.median) : 'failed',
        x.succeeded ? ms(x.wall.p90) : '',
        x.succeeded ? `${fmt(x.wall.median / lego, 2)}×` : '',
      ]),
      'lrrr',
    );
  },
};

const BLOCK = /<!-- bench:([a-z-]+) -->\n[\s\S]*?<!-- \/bench -->/g;

/** The README with every bench block rendered from `results`. Unknown block names are an error. */
export function renderReadme(text: string, results: Results): string {
  return text.replace(BLOCK, (_, name: string) => {
    const render = RENDERERS[name];
    if (!render) throw new Error(`README.md: unknown bench block "${name}"`);
    return `<!-- bench:${name} -->\n${render(results)}\n<!-- /bench -->`;
  });
}

export function blockNames(text: string): string[] {
  return [...text.matchAll(BLOCK)].map((m) => m[1] as string);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const text = readFileSync(README, 'utf8');
  const rendered = renderReadme(text, loadResults());
  if (process.argv.includes('--check')) {
    if (rendered !== text) {
      process.stderr.write(
        'README.md bench blocks differ from bench/results: run `tsx scripts/readme-figures.ts`\n',
      );
      process.exit(1);
    }
  } else if (rendered !== text) {
    writeFileSync(README, rendered);
    process.stdout.write(`README.md: ${blockNames(text).length} bench blocks rewritten from bench/results\n`);
  }
}
