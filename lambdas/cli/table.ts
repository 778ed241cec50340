/**
 * The human-readable form of a report: one table per cluster, fitted to the terminal's width.
 *
 * The renderer sanitises everything it prints itself, so no call site can forget: every table cell
 * goes through `forTerminal` before its width is measured (`cellsOf`), every composed line through
 * `fitLine`, and every line of the result through `forTerminal` once more on the way out (escaping
 * is idempotent: an escaped value has no control character left to escape). Certificate names,
 * CN/SAN values, a cluster's error text, a CA's renewalInfo error and explanationURL all come from
 * outside. When the full table is wider than the terminal, it is fitted in steps: the
 * issuer shortened to its CN and the DNS names one per line, then day-only dates, then long values
 * shortened in the middle, then fewer columns, and at last one block per certificate. `--json`
 * keeps every detail; without a width (a pipe or a file) the table is printed in full.
 */
import { formatAlert } from '../domain/alerts';
import type { Alert } from '../domain/ports';
import { redactUrlsIn } from '../domain/redact';
import { isForced } from '../domain/renewal/plan';
import type { CertificateReport, ClusterReport, FleetReport } from '../domain/report';
import { forTerminal, shorten, wrap } from './terminal';

const DAY_MS = 86_400_000;

export interface RenderOptions {
  /** Columns to fit; undefined prints the full width. */
  width?: number | undefined;
  /** `renew --force` entries, to tell a forced renewal from a due one. */
  force?: readonly string[];
  /** The domains a managed certificate is ordered for (from the config), for the dry-run plan. */
  domains?: (cluster: string, certificate: string) => string[] | undefined;
}

/** What a `renew` run decided for a certificate, apart from what came of it. */
export type Decision = 'due' | 'forced' | 'resume' | 'wait' | 'watch';

interface RenewReportLike extends FleetReport {
  dryRun?: boolean;
}

const when = (iso: string | null | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');
const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '-');

export function renderReport(report: RenewReportLike, options: RenderOptions = {}): string {
  const width = options.width;
  const renew = typeof report.dryRun === 'boolean';
  const out: string[] = [];
  for (const cluster of report.clusters) {
    out.push(...fitLine(`cluster ${forTerminal(cluster.name)}${describeVersions(cluster)}`, width));
    if (cluster.error) {
      out.push(
        ...fitLine(
          `  ERROR ${forTerminal(cluster.error.name)}: ${forTerminal(redactUrlsIn(cluster.error.message))}`,
          width,
        ),
      );
      if (cluster.error.hint) out.push(...fitLine(`  hint: ${forTerminal(cluster.error.hint)}`, width));
      // Only the client certificate (read locally) can be reported for an unreadable cluster.
      if (cluster.certificates.length === 0) {
        out.push('');
        continue;
      }
    }
    const rows = cluster.certificates.map((c) => rowOf(report, cluster, c, renew, options));
    out.push(...fitTable(rows, renew, width));
    for (const c of cluster.certificates) {
      const name = forTerminal(c.name);
      if (c.error)
        out.push(
          ...fitLine(
            `  ${name}: ${forTerminal(c.error.name)}: ${forTerminal(redactUrlsIn(c.error.message))}${c.error.hint ? ` (${forTerminal(c.error.hint)})` : ''}`,
            width,
          ),
        );
      if (c.renewalInfo)
        out.push(
          ...fitLine(
            c.renewalInfo.ignored
              ? `  ${name}: ARI window ${when(c.renewalInfo.start)} to ${when(c.renewalInfo.end)} IGNORED: it would renew at ${when(c.renewalInfo.renewAt)}, after the lifetime backstop ${when(c.renewalInfo.backstop)}; renews at the backstop${c.renewalInfo.explanationURL ? ` (${redactUrlsIn(c.renewalInfo.explanationURL)})` : ''}`
              : `  ${name}: ARI window ${when(c.renewalInfo.start)} to ${when(c.renewalInfo.end)}, renews at ${when(c.renewalInfo.renewAt)}${c.renewalInfo.explanationURL ? ` (${redactUrlsIn(c.renewalInfo.explanationURL)})` : ''}`,
            width,
          ),
        );
      if (c.renewalInfoError)
        out.push(
          ...fitLine(
            `  ${name}: ARI unavailable, lifetime policy used: ${redactUrlsIn(c.renewalInfoError.message)}`,
            width,
          ),
        );
      if (c.profile) out.push(...fitLine(`  ${name}: ACME profile ${c.profile}`, width));
      if (c.renewed)
        out.push(
          ...fitLine(
            `  ${name}: renewed, now valid until ${when(c.renewed.notAfter)} (was ${when(c.notAfter)}; serial ${forTerminal(c.renewed.serialNumber)})`,
            width,
          ),
        );
      if (c.action === 'skipped')
        out.push(
          ...fitLine(`  ${name}: skipped: ${forTerminal(c.skipped ?? 'another run holds it')}`, width),
        );
      if (c.window?.decision === 'wait')
        out.push(
          ...fitLine(
            `  ${name}: waits for the next maintenance window, opening ${when(c.window.nextOpen)}`,
            width,
          ),
        );
      if (c.window?.decision === 'override')
        out.push(
          ...fitLine(
            `  ${name}: expires before the next maintenance window (${when(c.window.nextOpen)}): pushed at once, overriding the windows`,
            width,
          ),
        );
    }
    if (cluster.push)
      out.push(
        ...fitLine(
          `  pushed ${cluster.push.certificates.map(forTerminal).join(', ')} in one push (${cluster.push.api})${cluster.push.fellBack ? `: ${forTerminal(cluster.push.fellBack)}` : ''}`,
          width,
        ),
      );
    if (cluster.activeActive) out.push(...activeActiveLines(cluster.activeActive, width));
    if (report.dryRun) {
      out.push(...fitLine('  plan (dry run: nothing was ordered, pushed or alerted):', width));
      for (const c of cluster.certificates)
        out.push(...fitLine(`    ${planLine(cluster, c, options)}`, width));
    }
    out.push('');
  }
  if (report.dryRun && report.clusters.some((c) => c.error)) {
    out.push(
      ...fitLine('unreadable clusters: nothing can be decided for them; each would be alerted on', width),
    );
    out.push('');
  }
  return out.map(forTerminal).join('\n');
}

/** The Active-Active follow-up of a renew run: what was done, and what a person must still do. */
function activeActiveLines(followUp: unknown, width: number | undefined): string[] {
  const aa = followUp as Partial<Extract<Alert, { kind: 'active-active' }>>;
  const databases = aa.databases ?? [];
  const head =
    aa.mode === 'updated'
      ? `  Active-Active: ${databases.length} database(s) force-updated, one at a time`
      : aa.mode === 'alert'
        ? `  Active-Active: force-update ${databases.length} database(s), one at a time, with no other update in between:`
        : `  Active-Active follow-up FAILED (needs attention)${aa.error ? `: ${aa.error.name}: ${redactUrlsIn(aa.error.message)}` : ''}`;
  const lines = [head];
  for (const d of databases) {
    if (aa.mode === 'updated') continue;
    const state = d.error ? `${d.status ?? 'failed'}: ${d.error}` : (d.status ?? '');
    lines.push(`    ${d.name} (${d.guid})${state ? `: ${state}` : ''}${d.command ? `: ${d.command}` : ''}`);
  }
  if (aa.mode === 'failed' && databases.length === 0)
    lines.push(
      '    list them with `crdb-cli crdb list` and run `crdb-cli crdb update --crdb-guid <guid> --force` for each',
    );
  return lines.flatMap((line) => fitLine(line, width));
}

/** " (RS 7.22.2-14, push API certificates)" when the nodes were read. */
function describeVersions(cluster: ClusterReport): string {
  if (!cluster.softwareVersions) return '';
  const versions = [...new Set(cluster.softwareVersions.map((v) => forTerminal(v ?? 'unknown')))].join(', ');
  return ` (RS ${versions}, push API ${cluster.pushApi ?? 'unknown'})`;
}

/** The decision for one certificate of a `renew` report. */
export function decisionOf(cluster: string, c: CertificateReport, force: readonly string[] = []): Decision {
  if (c.plan === 'renew') {
    if (isForced(force, cluster, c.name)) return 'forced';
    return c.status === 'ok' && c.error === null ? 'resume' : 'due';
  }
  return c.managed ? 'wait' : 'watch';
}

function outcomeOf(c: CertificateReport, dryRun: boolean): string {
  if (
    c.action === 'renewed' ||
    c.action === 'failed' ||
    c.action === 'skipped' ||
    c.action === 'waiting' ||
    c.action === 'deferred'
  )
    return c.action;
  if (c.action === 'alert-only') return dryRun ? 'would alert' : 'alerted';
  if (c.plan === 'renew' && dryRun) return c.orderBudget === 'deferred' ? 'would defer' : 'would renew';
  return '-';
}

function planLine(cluster: ClusterReport, c: CertificateReport, options: RenderOptions): string {
  const name = forTerminal(c.name);
  const state = `${c.status}${c.daysLeft === null ? '' : `, ${c.daysLeft.toFixed(1)} days left`}`;
  const domains = options.domains?.(cluster.name, c.name)?.map(forTerminal).join(', ');
  const order = `order a certificate${domains ? ` for ${domains}` : ''} (or reuse one an earlier run saved), push it to ${forTerminal(cluster.name)} and verify it`;
  if (c.orderBudget === 'deferred')
    return `${name}: would defer its order to the next run (${state}): this run's order budget goes to certificates closer to expiry; a certificate an earlier run saved would still be pushed`;
  switch (decisionOf(cluster.name, c, options.force)) {
    case 'forced':
      return `${name}: would renew because --force names it (${state}): ${order}`;
    case 'resume':
      return `${name}: would finish the renewal an earlier run pushed and never verified: verify it and send its alert (no new order)`;
    case 'due':
      return `${name}: would renew: ${c.status === 'invalid' ? `it cannot be read${c.error ? ` (${forTerminal(c.error.name)})` : ''}` : `${state}, past its renewal time ${when(c.renewalTime)}`}: ${order}`;
    case 'wait':
      return `${name}: left until its renewal time ${when(c.renewalTime)} (${state})`;
    case 'watch':
      return c.plan === 'alert-only'
        ? `${name}: refused, would alert only: it is ${c.status}${c.daysLeft === null ? '' : ` (${c.daysLeft.toFixed(1)} days left)`} but not listed under the cluster's "certificates", so ACME does not renew it`
        : `${name}: watched only (${state}); not listed under "certificates"`;
  }
}

// --- Fitting the table -------------------------------------------------------------------------

interface Row {
  name: string;
  status: string;
  days: string;
  notAfter: string | null;
  renewalTime: string | null;
  action: string;
  decision: string;
  outcome: string;
  dnsNames: string[];
  issuer: string;
}

function rowOf(
  report: FleetReport,
  cluster: ClusterReport,
  c: CertificateReport,
  renew: boolean,
  options: RenderOptions,
): Row {
  // A renewed row shows the certificate the cluster holds now: its new expiry and days left.
  const notAfter = c.renewed?.notAfter ?? c.notAfter;
  const daysLeft = c.renewed
    ? (Date.parse(c.renewed.notAfter) - Date.parse(report.generatedAt)) / DAY_MS
    : c.daysLeft;
  // The rest of a renewed row describes the new certificate too: the domains it was ordered for
  // (validated to cover them before the push) and no issuer (the new chain is in --json's `renewed`).
  const renewedDomains = c.renewed ? options.domains?.(cluster.name, c.name) : undefined;
  return {
    name: forTerminal(c.name),
    status: c.renewed ? 'ok' : c.status,
    days: daysLeft === null ? '-' : daysLeft.toFixed(1),
    notAfter,
    renewalTime: c.renewed ? null : c.renewalTime,
    action: c.action !== 'none' ? c.action : c.managed ? (c.issuerType ?? 'acme') : 'watch',
    decision: renew ? decisionOf(cluster.name, c, options.force) : '',
    outcome: renew ? outcomeOf(c, (report as RenewReportLike).dryRun === true) : '',
    dnsNames: (renewedDomains ?? c.dnsNames).map(forTerminal),
    issuer: c.renewed ? '-' : forTerminal(c.issuer ?? '-'),
  };
}

interface Layout {
  issuer: 'full' | 'cn' | 'none';
  dates: 'long' | 'short';
  dnsStacked: boolean;
  renewAt: boolean;
  shrink: boolean;
}

// Tried in order; the first whose every line fits wins. The issuer gives way before any DNS name is cut.
const LAYOUTS: Layout[] = [
  { issuer: 'full', dates: 'long', dnsStacked: false, renewAt: true, shrink: false },
  { issuer: 'cn', dates: 'long', dnsStacked: true, renewAt: true, shrink: false },
  { issuer: 'cn', dates: 'short', dnsStacked: true, renewAt: true, shrink: false },
  { issuer: 'none', dates: 'short', dnsStacked: true, renewAt: true, shrink: false },
  { issuer: 'none', dates: 'short', dnsStacked: true, renewAt: true, shrink: true },
  { issuer: 'none', dates: 'short', dnsStacked: true, renewAt: false, shrink: true },
];

interface Column {
  header: string;
  cells: string[][];
  /** Shortest a shrinkable column may become; undefined: never shrunk. */
  min?: number;
  /** Which shrinkable column gives up width first (lowest first). */
  shrinkOrder?: number;
}

function fitTable(rows: Row[], renew: boolean, width: number | undefined): string[] {
  if (width === undefined) return drawTable(columnsFor(rows, renew, LAYOUTS[0] as Layout));
  // (columnsFor sanitises every cell, so widths are measured on what is printed.)
  for (const layout of LAYOUTS) {
    let columns = columnsFor(rows, renew, layout);
    if (layout.shrink) columns = shrinkTo(columns, width);
    const lines = drawTable(columns);
    if (lines.every((l) => [...l].length <= width)) return lines;
  }
  return blocks(rows, renew, width);
}

function columnsFor(rows: Row[], renew: boolean, layout: Layout): Column[] {
  return rawColumnsFor(rows, renew, layout).map((col) => ({
    ...col,
    cells: col.cells.map((lines) => lines.map(forTerminal)),
  }));
}

function rawColumnsFor(rows: Row[], renew: boolean, layout: Layout): Column[] {
  const date = layout.dates === 'long' ? when : day;
  const cols: Column[] = [
    { header: 'CERTIFICATE', cells: rows.map((r) => [r.name]), min: 10, shrinkOrder: 3 },
    { header: 'STATUS', cells: rows.map((r) => [r.status]) },
    { header: 'DAYS', cells: rows.map((r) => [r.days]) },
    { header: 'NOT AFTER', cells: rows.map((r) => [date(r.notAfter)]) },
  ];
  if (layout.renewAt) cols.push({ header: 'RENEW AT', cells: rows.map((r) => [date(r.renewalTime)]) });
  if (renew) {
    cols.push({ header: 'DECISION', cells: rows.map((r) => [r.decision]) });
    cols.push({ header: 'OUTCOME', cells: rows.map((r) => [r.outcome]) });
  } else {
    cols.push({ header: 'ACTION', cells: rows.map((r) => [r.action]) });
  }
  cols.push({
    header: 'DNS NAMES',
    cells: rows.map((r) =>
      r.dnsNames.length === 0 ? ['-'] : layout.dnsStacked ? r.dnsNames : [r.dnsNames.join(',')],
    ),
    min: 12,
    shrinkOrder: 2,
  });
  if (layout.issuer !== 'none')
    cols.push({
      header: 'ISSUER',
      cells: rows.map((r) => [layout.issuer === 'cn' ? commonName(r.issuer) : r.issuer]),
      min: 8,
      shrinkOrder: 1,
    });
  return cols;
}

function commonName(dn: string): string {
  return /(?:^|,\s*)CN=([^,]+)/.exec(dn)?.[1] ?? dn;
}

const widthOf = (col: Column) =>
  Math.max([...col.header].length, ...col.cells.flatMap((lines) => lines.map((l) => [...l].length)));

const totalWidth = (cols: Column[]) =>
  2 + cols.reduce((sum, c) => sum + widthOf(c), 0) + 2 * (cols.length - 1);

/**
 * Takes the excess width from the shrinkable columns in order (`shrinkOrder`: the issuer first, then
 * the DNS names, then the certificate name), each down to its minimum; cut values keep both ends.
 */
function shrinkTo(columns: Column[], width: number): Column[] {
  const widths = columns.map(widthOf);
  let excess = totalWidth(columns) - width;
  const order = columns
    .map((col, i) => ({ col, i }))
    .filter(({ col }) => col.min !== undefined)
    .sort((a, b) => (a.col.shrinkOrder ?? 0) - (b.col.shrinkOrder ?? 0));
  for (const { col, i } of order) {
    const take = Math.min(excess, (widths[i] as number) - (col.min as number));
    if (take <= 0) continue;
    widths[i] = (widths[i] as number) - take;
    excess -= take;
  }
  return columns.map((col, i) => ({
    ...col,
    header: shorten(col.header, widths[i] as number),
    cells: col.cells.map((lines) => lines.map((l) => shorten(l, widths[i] as number))),
  }));
}

function drawTable(columns: Column[]): string[] {
  const widths = columns.map(widthOf);
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => (i === cells.length - 1 ? cell : pad(cell, widths[i] as number))).join('  ')}`.trimEnd();
  const out = [line(columns.map((c) => c.header))];
  const rows = columns[0]?.cells.length ?? 0;
  for (let r = 0; r < rows; r++) {
    const height = Math.max(...columns.map((c) => (c.cells[r] as string[]).length));
    for (let k = 0; k < height; k++) out.push(line(columns.map((c) => (c.cells[r] as string[])[k] ?? '')));
  }
  return out;
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - [...text].length));

/** The narrowest form: one block per certificate, every line fitted. */
function blocks(rows: Row[], renew: boolean, width: number): string[] {
  const out: string[] = [];
  for (const r of rows) {
    out.push(`  ${shorten(forTerminal(r.name), Math.max(1, width - 2))}`);
    const facts = [
      `${r.status}, ${r.days} days, not after ${when(r.notAfter)}`,
      ...(r.renewalTime ? [`renew at ${when(r.renewalTime)}`] : []),
      renew ? `decision ${r.decision}, outcome ${r.outcome}` : `action ${r.action}`,
      `dns ${r.dnsNames.join(', ') || '-'}`,
      `issuer ${commonName(r.issuer)}`,
    ];
    for (const fact of facts) out.push(...fitLine(`    ${fact}`, width));
  }
  return out;
}

/** A line we composed, made terminal-safe, then wrapped to the width (long words cut) so that no line is wider. */
function fitLine(line: string, width: number | undefined): string[] {
  return wrap(forTerminal(line), width);
}

export function renderAlerts(alerts: Alert[], dryRun: boolean, width?: number): string {
  const lines = [dryRun ? 'alerts that would be sent (dry run):' : 'alerts sent:'];
  for (const alert of alerts) {
    const f = formatAlert(alert);
    lines.push(
      ...fitLine(`  [${f.severity}] ${forTerminal(f.subject.replace('[rs-cert-watchdog] ', ''))}`, width),
    );
  }
  return lines.map(forTerminal).join('\n');
}
