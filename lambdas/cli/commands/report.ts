/**
 * `rs-cert-watchdog report`: the HTML expiry report. Reads the fleet as `check` does (never writes
 * to a cluster, alerts nobody), or renders a saved `check --json` / `renew --json` report
 * (`--from`), and writes one self-contained page. Exit codes are check's: 0 nothing needs
 * attention, 1 something does (or the page could not be written), 2 usage or configuration error
 * (nothing read, nothing written).
 */
import { readFile } from 'node:fs/promises';
import { checkOutputPath } from '../../adapters/output-file';
import { ConfigError } from '../../domain/errors';
import type { FleetReport } from '../../domain/report';
import { parseSavedReport } from '../../domain/saved-report';
import { EXIT_ATTENTION } from '../exit-codes';
import { forTerminal } from '../terminal';
import { readFleet } from './check';
import { writeHtml } from './outputs';
import { type CommandEnv, configure, emit } from './shared';

export interface ReportOptions {
  config?: string;
  from?: string;
  html: string;
}

export async function report(cli: CommandEnv, options: ReportOptions): Promise<void> {
  if ((options.config === undefined) === (options.from === undefined))
    throw new ConfigError('give exactly one of --config FILE or --from FILE.json', {
      hint: '--config reads the fleet now; --from renders a report saved from check --json or renew --json',
    });
  const config = options.config === undefined ? undefined : configure(options.config, cli.io.env);
  const from = options.from === undefined ? undefined : await readSaved(options.from);
  await checkOutputPath('--html', options.html);
  const fleet = from ?? (await readFleet(cli, config!));
  const written = await writeHtml(cli, options.html, fleet);
  emit(cli, fleet, () => summary(fleet, options.html, written));
  if (!written) cli.setExitCode(EXIT_ATTENTION);
}

async function readSaved(path: string): Promise<FleetReport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `--from ${path}: ${code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${code})`}`,
      { hint: 'give a file written by check --json or renew --json' },
    );
  }
  return parseSavedReport(text, path);
}

/** One line for a person: what the page shows and where it is. */
function summary(fleet: FleetReport, path: string, written: boolean): string {
  const counts = new Map<string, number>();
  let total = 0;
  for (const cluster of fleet.clusters)
    for (const cert of cluster.certificates) {
      counts.set(cert.status, (counts.get(cert.status) ?? 0) + 1);
      total++;
    }
  const unreachable = fleet.clusters.filter((c) => c.error !== null).length;
  const statuses = ['ok', 'expiring', 'expired', 'invalid']
    .filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s}`)
    .join(', ');
  const what = `${fleet.clusters.length} cluster(s)${unreachable ? ` (${unreachable} unreachable)` : ''}, ${total} certificate(s)${statuses ? `: ${statuses}` : ''}`;
  return written ? `wrote ${forTerminal(path)}: ${what}` : `not written: ${forTerminal(path)} (${what})`;
}
