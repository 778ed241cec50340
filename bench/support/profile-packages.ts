/**
 * Where a bundled process's CPU samples went, by package: each sampled frame of a bundle is mapped
 * back through the bundle's linked source map (node:module's SourceMap) to its source file, and the
 * file to a category: compiling, garbage collection, waiting (idle: network, the CA, the simulator,
 * the key thread), our code (lambdas/), each dependency by package name, Node's crypto and TLS, and
 * the rest of Node. Self time only, so the parts add up to the sampled total.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Profile } from './cpu-profile';

export interface PackageBreakdown {
  sampledMs: number;
  /** Category → self milliseconds, largest first. */
  parts: Array<{ part: string; ms: number; percent: number }>;
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url) ?? null;
  let map: SourceMap | null = null;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

/** The package (or our own tree) a source path belongs to. */
export function packageOf(source: string): string {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = source.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? source);
  }
  if (/(^|\/)lambdas\//.test(source)) return 'our code (lambdas/)';
  return source;
}

/** The category of one sampled frame (url as V8 reports it; line and column 0-based). */
export function categoryOf(functionName: string, url: string, line: number, column: number): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'waiting (network, CA, cluster, key thread)';
  if (functionName === '(program)') return 'V8 and Node native (program)';
  if (!url) return 'V8 and Node native (program)';
  if (url.startsWith('node:')) {
    if (/^node:internal\/modules\/(esm\/(utils|translators|module_job|loader)|cjs\/loader)/.test(url))
      return 'compiling and linking modules';
    if (/^node:internal\/crypto\/|^node:crypto$/.test(url)) return 'node:crypto';
    if (/tls|^node:_tls|secure-context/.test(url)) return 'TLS (node:tls)';
    if (/^node:internal\/bootstrap\//.test(url)) return "loading Node's built-in modules";
    if (/^node:inspector/.test(url)) return 'the profiler itself (stopping it)';
    return 'the rest of Node';
  }
  const map = sourceMapFor(url);
  if (map) {
    const entry = map.findEntry(line, column) as { originalSource?: string };
    if (entry?.originalSource) return packageOf(entry.originalSource);
    return line === 0 && column === 0 ? "modules' top-level code (bundle)" : 'bundle (unmapped)';
  }
  return packageOf(url.replace(/^file:\/\//, ''));
}

export function breakdownByPackage(profile: Profile): PackageBreakdown {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const parts = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const column = (node.callFrame as { columnNumber?: number }).columnNumber ?? 0;
    const part = categoryOf(functionName, url, lineNumber, column);
    parts.set(part, (parts.get(part) ?? 0) + us);
    total += us;
  }
  return {
    sampledMs: total / 1000,
    parts: [...parts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([part, us]) => ({ part, ms: us / 1000, percent: total ? (100 * us) / total : 0 })),
  };
}

/** One line: "our code 12 ms (8 %), acme-client 9 ms (6 %), ...". */
export function breakdownLine(b: PackageBreakdown, min = 0.5): string {
  const shown = b.parts.filter((p) => p.ms >= min);
  const rest = b.parts.filter((p) => p.ms < min).reduce((a, p) => a + p.ms, 0);
  return [
    ...shown.map((p) => `${p.part} ${p.ms.toFixed(1)} ms (${p.percent.toFixed(0)} %)`),
    ...(rest > 0 ? [`others under ${min} ms ${rest.toFixed(1)} ms`] : []),
  ].join('; ');
}

/** Each part's median over several profiles of the same command (the total: the median total). */
export function medianBreakdown(runs: readonly PackageBreakdown[]): PackageBreakdown {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  };
  const names = new Set(runs.flatMap((r) => r.parts.map((p) => p.part)));
  const sampledMs = median(runs.map((r) => r.sampledMs));
  const parts = [...names]
    .map((part) => ({ part, ms: median(runs.map((r) => r.parts.find((p) => p.part === part)?.ms ?? 0)) }))
    .sort((a, b) => b.ms - a.ms)
    .map((p) => ({ ...p, percent: sampledMs ? (100 * p.ms) / sampledMs : 0 }));
  return { sampledMs, parts };
}
