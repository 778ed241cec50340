/**
 * The metrics file as Prometheus reads it: `promtool check metrics` (Debian package `prometheus`)
 * for the format and its conventions, and parse-prometheus-text-format (a port of Prometheus's own
 * text parser) for the samples, with every label value unescaped.
 */
import { execFile } from 'node:child_process';
// @ts-expect-error: the package ships no types; its one function is typed below.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}

export interface Sample {
  name: string;
  type: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  return (parsePrometheusTextFormat(text) as ParsedFamily[]).flatMap((family) =>
    family.metrics.map((m) => ({
      name: family.name,
      type: family.type.toLowerCase(),
      labels: m.labels ?? {},
      value: Number(m.value),
    })),
  );
}

/** `promtool check metrics` on the text: its exit code and what it said (lint problems, parse errors). */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.env.PROMTOOL ?? 'promtool',
      ['check', 'metrics'],
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string }) | null;
        if (e && e.code === 'ENOENT')
          reject(new Error('promtool is not installed (apt-get install prometheus)'));
        else resolve({ code: e ? Number(e.code) : 0, output: `${stdout}${stderr}` });
      },
    );
    child.stdin!.end(text);
  });
}

/** The one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sample(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): Sample | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0];
}
