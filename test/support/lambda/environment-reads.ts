/**
 * The environment variables a Lambda bundle reads, found in its text (`process.env.X`,
 * `process.env["X"]`) and attributed, through the bundle's source map, to the source file they come
 * from: the product's own code (`lambdas/…`) or a dependency (`node_modules/…`). A read whose name
 * is not in the text (`process.env[name]`, or `process.env` handed on as an object) is reported as
 * dynamic, with its source.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { join } from 'node:path';

export interface EnvironmentRead {
  /** The variable, or undefined for a dynamic read. */
  name: string | undefined;
  /** The source file, relative to the repository (`lambdas/wiring/runtime.ts`, `node_modules/@smithy/…`). */
  source: string;
}

/**
 * `process.env.X`, `process.env?.X`, `process.env["X"]`, `"X" in process.env`; then the dynamic
 * forms: `process.env[expr]`, or the object handed on.
 */
const LITERAL =
  /process\.env\??\.([A-Za-z_$][\w$]*)|process\.env\[\s*(["'`])([^"'`]+)\2\s*\]|(["'`])([A-Za-z_][\w]*)\4\s*in\s*process\.env\b|process\.env\[|process\.env(?![\w$.?[])/g;

export function environmentReads(bundleDir: string): EnvironmentRead[] {
  const code = readFileSync(join(bundleDir, 'index.mjs'), 'utf8');
  const map = new SourceMap(
    JSON.parse(readFileSync(join(bundleDir, 'index.mjs.map'), 'utf8')) as SourceMapPayload,
  );
  const lineStarts = [0];
  for (let i = code.indexOf('\n'); i >= 0; i = code.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const position = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: offset - (lineStarts[lo] as number) };
  };
  const reads: EnvironmentRead[] = [];
  for (const m of code.matchAll(LITERAL)) {
    const { line, column } = position(m.index);
    const entry = map.findEntry(line, column) as { originalSource?: string };
    reads.push({ name: m[1] ?? m[3] ?? m[5], source: normalizeSource(entry.originalSource ?? '(unmapped)') });
  }
  return reads;
}

/**
 * A source as the repository names it. esbuild wrote the sources relative to the asset directory
 * CDK bundled into (inside node_modules/.cache/): `../../../../../lambdas/z.ts` is the product's,
 * `../../../../@aws-sdk/x.js` a package's.
 */
function normalizeSource(source: string): string {
  const path = source.replace(/^file:\/\//, '').replace(/^(\.\.\/)+/, '');
  if (/^(lambdas|lib)\//.test(path)) return path;
  const inModules = path.lastIndexOf('node_modules/');
  return inModules >= 0 ? path.slice(inModules) : `node_modules/${path}`;
}
