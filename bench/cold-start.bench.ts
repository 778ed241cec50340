/**
 * Cold start proxy: bundle each Lambda handler with esbuild, with the options the CDK stack uses
 * (lib/bundling/esbuild-options.ts), and measure the minified size and the time to import the bundle in a
 * fresh `node` process. Also lists the five largest contributors of each bundle (metafile).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { lambdaBuildOptions } from '../lib/bundling/esbuild-options';
import {
  childEnv,
  consoleTable,
  fmt,
  fmtMs,
  log,
  machineInfo,
  markdownTable,
  REPO_DIR,
  type Result,
  runIfMain,
  summarize,
  type Target,
  targetsTable,
  writeResult,
} from './support/common';

const HANDLERS = ['check', 'issue', 'push', 'verify', 'notify', 'slack-forwarder'] as const;

/** The bundling options measured: exactly the stack's (lib/functions.ts builds with the same). */
const ESBUILD_OPTIONS = lambdaBuildOptions(REPO_DIR);
const RENEWAL = new Set(['issue', 'push', 'verify', 'notify']);
const LOADS = 10;
const KB = 1024;

interface Contributor {
  name: string;
  bytes: number;
  percent: number;
}

interface BundleInfo {
  handler: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  buildMs: number;
  contributors: Contributor[];
}

/** node_modules/@scope/pkg/... → @scope/pkg; project files → "(project code)". */
function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return input.startsWith('lambdas/') ? '(project code: lambdas/)' : input;
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
}

function contributors(metafile: Metafile, outputFile: string, bytes: number): Contributor[] {
  const output = Object.entries(metafile.outputs).find(([path]) => path.endsWith(outputFile))?.[1];
  if (!output) return [];
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, b]) => ({ name, bytes: b, percent: (100 * b) / bytes }));
}

async function bundle(handler: string, outdir: string): Promise<BundleInfo> {
  const t0 = performance.now();
  const result = await build({
    absWorkingDir: REPO_DIR,
    entryPoints: [`lambdas/handlers/${handler}.ts`],
    outdir,
    ...ESBUILD_OPTIONS,
    metafile: true,
    logLevel: 'silent',
  });
  const buildMs = performance.now() - t0;
  const file = join(outdir, `${handler}.js`);
  const bytes = statSync(file).size;
  return {
    handler,
    file,
    bytes,
    gzipBytes: gzipSync(readFileSync(file)).length,
    buildMs,
    contributors: contributors(result.metafile, `${handler}.js`, bytes),
  };
}

/** Import time reported by the child, and the whole process's wall time. */
function loadOnce(file: string): Promise<{ importMs: number; processMs: number }> {
  const script = `const t=performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now()-t)`;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { env: childEnv({ AWS_REGION: 'us-east-1' }), cwd: REPO_DIR, timeout: 30_000 },
      (error, stdout, stderr) => {
        const processMs = performance.now() - t0;
        if (error) {
          reject(new Error(`loading ${file} failed: ${stderr || error.message}`));
          return;
        }
        const importMs = Number(stdout.trim().split('\n').pop());
        if (!Number.isFinite(importMs)) reject(new Error(`unexpected output for ${file}: ${stdout}`));
        else resolve({ importMs, processMs });
      },
    );
  });
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  log('\n## cold-start: esbuild bundles of the Lambda handlers, module load in a fresh node process');
  const outdir = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    // ESM output with a .js extension: the directory is marked as a module package.
    writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
    const bundles: BundleInfo[] = [];
    for (const handler of HANDLERS) bundles.push(await bundle(handler, outdir));
    const empty = join(outdir, 'empty.js');
    writeFileSync(empty, 'export const handler = async () => ({});\n');
    const files = [
      ...bundles.map((b) => ({ name: b.handler, file: b.file })),
      { name: '(empty module)', file: empty },
    ];

    // One unmeasured load each (page cache), then LOADS rounds, round-robin across bundles.
    for (const f of files) await loadOnce(f.file);
    const loads = new Map<string, Array<{ importMs: number; processMs: number }>>();
    for (let i = 0; i < LOADS; i++) {
      for (const f of files) {
        const sample = await loadOnce(f.file);
        loads.set(f.name, [...(loads.get(f.name) ?? []), sample]);
      }
    }

    const stats = files.map((f) => {
      const list = loads.get(f.name) ?? [];
      return {
        name: f.name,
        bundle: bundles.find((b) => b.handler === f.name),
        importMs: summarize(list.map((s) => s.importMs)),
        processMs: summarize(list.map((s) => s.processMs)),
        samples: list,
      };
    });

    const headers = [
      'Handler',
      'Minified',
      'Gzipped',
      'Import (median)',
      'Import (p90)',
      'Whole process (median)',
      'Top contributor',
    ];
    const rows = stats.map((s) => [
      s.name,
      s.bundle ? `${fmt(s.bundle.bytes / KB, 0)} KB` : '–',
      s.bundle ? `${fmt(s.bundle.gzipBytes / KB, 0)} KB` : '–',
      fmtMs(s.importMs.median),
      fmtMs(s.importMs.p90),
      fmtMs(s.processMs.median),
      s.bundle?.contributors[0]
        ? `${s.bundle.contributors[0].name} (${fmt(s.bundle.contributors[0].percent, 0)} %)`
        : '–',
    ]);
    log(consoleTable(headers, rows));

    const contributorRows = bundles.map((b) => [
      b.handler,
      ...b.contributors.map((c) => `${c.name} ${fmt(c.bytes / KB, 0)} KB (${fmt(c.percent, 0)} %)`),
      ...Array.from({ length: 5 - b.contributors.length }, () => ''),
    ]);

    const check = stats.find((s) => s.name === 'check');
    const targets: Target[] = [
      {
        name: 'check bundle size',
        threshold: '< 300 KB',
        measured: `${fmt((check?.bundle?.bytes ?? 0) / KB, 0)} KB`,
        pass: (check?.bundle?.bytes ?? Number.POSITIVE_INFINITY) < 300 * KB,
      },
      {
        name: 'check module load (median)',
        threshold: '< 100 ms',
        measured: fmtMs(check?.importMs.median ?? Number.NaN),
        pass: (check?.importMs.median ?? Number.POSITIVE_INFINITY) < 100,
      },
      ...bundles
        .filter((b) => RENEWAL.has(b.handler))
        .map((b) => ({
          name: `${b.handler} bundle size`,
          threshold: '< 1.5 MB',
          measured: `${fmt(b.bytes / KB / KB, 2)} MB`,
          pass: b.bytes < 1.5 * KB * KB,
        })),
    ];

    const markdown = [
      `esbuild (JS API) with the stack's own options (lib/bundling/esbuild-options.json): target ${ESBUILD_OPTIONS.target}, ` +
        'ESM, minified, `mainFields: [module, main]`, linked source maps without sources, the node-forge stub and the `createRequire` banner. ' +
        `Import time measured inside a fresh \`node --input-type=module -e\` process (${LOADS} loads per bundle, round-robin, after one unmeasured load each), ` +
        `on Node ${process.version} locally (the functions run Node 24 on Lambda, where CPU scales with memory). ` +
        '"Whole process" is spawn to exit, node start-up included; the empty module is the floor.',
      '',
      markdownTable(headers, rows),
      '',
      'Top 5 contributors per bundle (bytes in the minified output, grouped by npm package):',
      '',
      markdownTable(['Handler', '#1', '#2', '#3', '#4', '#5'], contributorRows, [
        'l',
        'l',
        'l',
        'l',
        'l',
        'l',
      ]),
      '',
      targetsTable(targets),
    ].join('\n');

    const result: Result = {
      name: 'cold-start',
      title: 'Lambda bundles: size and cold load',
      markdown,
      targets,
      durationMs: performance.now() - started,
      data: {
        esbuildOptions: ESBUILD_OPTIONS,
        loadsPerBundle: LOADS,
        bundles: stats.map((s) => ({
          handler: s.name,
          bytes: s.bundle?.bytes ?? null,
          gzipBytes: s.bundle?.gzipBytes ?? null,
          buildMs: s.bundle?.buildMs ?? null,
          importMs: s.importMs,
          processMs: s.processMs,
          contributors: s.bundle?.contributors ?? [],
          samples: s.samples,
        })),
      },
    };
    writeResult(result, machine);
    return result;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
