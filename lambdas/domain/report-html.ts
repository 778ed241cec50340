/**
 * The HTML expiry report: one self-contained page (inline CSS and SVG, no script, no external asset,
 * and a Content-Security-Policy that forbids both) showing, per cluster, a timeline of every
 * certificate's validity with today, its renewal point and its expiry, coloured by status, and the
 * table of details below it.
 *
 * `renderHtmlReport` is a pure function of the report (no clock, no I/O, no Node API), so the CLI
 * (`report`, `check --html`, `renew --html`) and a Lambda render the same page. Every value that
 * comes from a cluster, a CA or the configuration is escaped, and characters that could disguise it
 * (control characters, bidi overrides, invisible formatting) are shown as escapes: a hostile
 * certificate name is inert text.
 */
import type { CertificateStatus } from './policy';
import type { CertificateReport, ClusterReport, FleetReport } from './report';

export interface HtmlReportOptions {
  /** The page's heading and title; default "Certificate report". */
  title?: string;
  /** Who made the page, shown in its footer (e.g. "rs-cert-watchdog 0.1.0"). */
  generator?: string;
}

/** A check report, or a renew report (`dryRun` set): both render. */
export type HtmlReportInput = FleetReport & { dryRun?: boolean };

const DAY_MS = 86_400_000;

/** The status colours: the legend, the timeline bars and the table's status cells use these. */
export const STATUS_COLOURS: Readonly<Record<CertificateStatus, string>> = {
  ok: '#2e7d32',
  expiring: '#e65100',
  expired: '#c62828',
  invalid: '#6a1b9a',
};

const STATUS_LABELS: Readonly<Record<CertificateStatus, string>> = {
  ok: 'ok',
  expiring: 'expiring (renewal due)',
  expired: 'expired',
  invalid: 'cannot be read',
};

// The timeline's geometry, in CSS pixels.
const WIDTH = 1000;
const LABEL_WIDTH = 190;
const RIGHT_WIDTH = 200;
const AXIS_HEIGHT = 30;
const ROW_HEIGHT = 26;
const BAR_HEIGHT = 14;
const CHART_X0 = LABEL_WIDTH;
const CHART_X1 = WIDTH - RIGHT_WIDTH;

export function renderHtmlReport(report: HtmlReportInput, options: HtmlReportOptions = {}): string {
  const title = options.title ?? 'Certificate report';
  const today = Date.parse(report.generatedAt);
  const axis = axisFor(report, today);
  const certificates = report.clusters.flatMap((c) => c.certificates);
  const unreachable = report.clusters.filter((c) => c.error !== null).length;
  const run =
    typeof report.dryRun === 'boolean'
      ? ` by <code>${report.dryRun ? 'renew --dry-run' : 'renew'}</code>`
      : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(options.generator ?? 'rs-cert-watchdog')}">
<title>${esc(title)}: ${esc(dateOf(report.generatedAt))}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="generated">Read${run} at <time datetime="${esc(report.generatedAt)}">${esc(when(report.generatedAt))}</time>: ${report.clusters.length} cluster${plural(report.clusters.length)}, ${certificates.length} certificate${plural(certificates.length)}.</p>
${summaryTable(report, unreachable)}
${legend()}
${report.scheduleProblem ? `<p class="problem"><strong>Schedule refused:</strong> ${esc(report.scheduleProblem.message)}</p>` : ''}
</header>
<main>
${report.clusters.map((cluster, i) => clusterSection(cluster, i, axis, today)).join('\n')}
</main>
<footer>${esc(options.generator ?? 'rs-cert-watchdog')} · times are UTC · the timeline spans ${esc(dateOf(new Date(axis.start).toISOString()))} to ${esc(dateOf(new Date(axis.end).toISOString()))}; a bar cut at an edge goes on beyond it.</footer>
</body>
</html>
`;
}

/** A status the page knows (a saved report given to `report --from` could hold anything). */
function statusOf(cert: CertificateReport): CertificateStatus {
  return Object.hasOwn(STATUS_COLOURS, cert.status) ? cert.status : 'invalid';
}

// ---- escaping --------------------------------------------------------------------------------

/**
 * Characters that could hide or disguise text (C0 and C1 controls, DEL, bidi embeddings, overrides
 * and isolates, zero-width and invisible formatting, line and paragraph separators) become visible
 * escapes, as on the terminal (`\x1b`, `\u202e`).
 */
const DISGUISING =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };

export function visible(text: string): string {
  return text.replace(DISGUISING, (ch) => {
    const named = NAMED[ch];
    if (named) return named;
    const code = ch.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Text for HTML content and attribute values alike: visible, then &, <, >, " and ' escaped. */
export function esc(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  return visible(String(text))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

// ---- the page's parts ------------------------------------------------------------------------

const plural = (n: number) => (n === 1 ? '' : 's');
const dateOf = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '–');
const when = (iso: string | null | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '–');

function summaryTable(report: HtmlReportInput, unreachable: number): string {
  const counts: Record<CertificateStatus, number> = { ok: 0, expiring: 0, expired: 0, invalid: 0 };
  for (const c of report.clusters) for (const cert of c.certificates) counts[statusOf(cert)]++;
  const cells = (Object.keys(counts) as CertificateStatus[])
    .map((s) => `<td class="count status-${s}" data-status="${s}">${counts[s]}</td>`)
    .join('');
  const heads = (Object.keys(counts) as CertificateStatus[])
    .map((s) => `<th>${STATUS_LABELS[s]}</th>`)
    .join('');
  return `<table class="summary"><thead><tr><th>clusters</th><th>unreachable</th>${heads}</tr></thead>
<tbody><tr><td>${report.clusters.length}</td><td class="${unreachable ? 'unreachable-count' : ''}">${unreachable}</td>${cells}</tr></tbody></table>`;
}

function legend(): string {
  const swatches = (Object.keys(STATUS_COLOURS) as CertificateStatus[])
    .map((s) => `<li><span class="swatch status-${s}"></span>${STATUS_LABELS[s]}</li>`)
    .join('');
  return `<ul class="legend">${swatches}<li><span class="mark today-mark"></span>today</li><li><span class="mark renewal-mark"></span>renewal point</li><li><span class="mark expiry-mark"></span>expiry</li></ul>`;
}

function clusterSection(cluster: ClusterReport, index: number, axis: Axis, today: number): string {
  const versions = [...new Set((cluster.softwareVersions ?? []).filter((v): v is string => !!v))];
  const meta = [
    versions.length ? `RS ${versions.map(esc).join(', ')}` : '',
    cluster.pushApi ? `push API <code>${esc(cluster.pushApi)}</code>` : '',
    cluster.error === null
      ? `${cluster.certificates.length} certificate${plural(cluster.certificates.length)}`
      : '',
  ].filter(Boolean);
  const head = `<h2>${esc(cluster.name)}</h2>${meta.length ? `<p class="meta">${meta.join(' · ')}</p>` : ''}`;
  if (cluster.error !== null)
    return `<section class="cluster unreachable" id="cluster-${index}" data-cluster="${esc(cluster.name)}">
${head}
<div class="error"><strong>Cannot be read: ${esc(cluster.error.name)}</strong><p>${esc(cluster.error.message)}</p>${cluster.error.hint ? `<p class="hint">${esc(cluster.error.hint)}</p>` : ''}</div>
</section>`;
  const rows = timelineOrder(cluster.certificates);
  return `<section class="cluster" id="cluster-${index}" data-cluster="${esc(cluster.name)}">
${head}
${timeline(cluster, rows, axis, today)}
${detailsTable(rows)}
</section>`;
}

/** Certificates that cannot be read first (nothing to place), then by expiry, soonest first. */
export function timelineOrder(certificates: readonly CertificateReport[]): CertificateReport[] {
  const expiry = (c: CertificateReport) => {
    const t = c.notAfter === null ? Number.NaN : Date.parse(c.notAfter);
    return Number.isFinite(t) ? t : Number.NEGATIVE_INFINITY;
  };
  return certificates
    .map((c, i) => ({ c, i }))
    .sort((a, b) => expiry(a.c) - expiry(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

// ---- the timeline ----------------------------------------------------------------------------

interface Axis {
  start: number;
  end: number;
}

/**
 * One time axis for the whole page, so clusters compare at a glance: from the earliest notBefore
 * (at most a year back, at least two weeks) to the latest expiry (at most two years ahead, at least
 * a month), with a small margin.
 */
function axisFor(report: HtmlReportInput, today: number): Axis {
  const starts: number[] = [];
  const ends: number[] = [];
  for (const cluster of report.clusters)
    for (const c of cluster.certificates) {
      const nb = c.notBefore ? Date.parse(c.notBefore) : Number.NaN;
      const na = c.notAfter ? Date.parse(c.notAfter) : Number.NaN;
      const renewed = c.renewed ? Date.parse(c.renewed.notAfter) : Number.NaN;
      if (Number.isFinite(nb)) starts.push(nb);
      if (Number.isFinite(na)) ends.push(na);
      if (Number.isFinite(renewed)) ends.push(renewed);
    }
  const earliest = starts.length ? Math.min(...starts) : today;
  const latest = ends.length ? Math.max(...ends) : today;
  const start = Math.min(Math.max(earliest, today - 365 * DAY_MS), today - 14 * DAY_MS);
  const end = Math.max(Math.min(latest, today + 730 * DAY_MS), today + 30 * DAY_MS);
  const margin = (end - start) * 0.02;
  return { start: start - margin, end: end + margin };
}

function xOf(axis: Axis, t: number): number {
  const clamped = Math.min(Math.max(t, axis.start), axis.end);
  return round(CHART_X0 + ((clamped - axis.start) / (axis.end - axis.start)) * (CHART_X1 - CHART_X0));
}

const round = (n: number) => Math.round(n * 10) / 10;

/** Tick dates: the first of every Nth month (UTC), N chosen for at most 8 ticks (their labels never overlap). */
function ticks(axis: Axis): Array<{ t: number; label: string }> {
  const months = (axis.end - axis.start) / (30.44 * DAY_MS);
  const step = [1, 2, 3, 6, 12, 24].find((s) => months / s <= 8) ?? 24;
  const first = new Date(axis.start);
  const out: Array<{ t: number; label: string }> = [];
  for (let m = first.getUTCFullYear() * 12 + first.getUTCMonth() + 1; ; m++) {
    const year = Math.floor(m / 12);
    const t = Date.UTC(year, m % 12, 1);
    if (t > axis.end) break;
    if (m % step === 0)
      out.push({ t, label: step >= 12 ? String(year) : `${year}-${String((m % 12) + 1).padStart(2, '0')}` });
  }
  return out;
}

function daysText(days: number | null): string {
  if (days === null) return '';
  const abs = Math.abs(days);
  const n = abs < 2 ? `${Math.round(abs * 24)} h` : `${Math.round(abs)} d`;
  return days < 0 ? `expired ${n} ago` : `${n} left`;
}

function timeline(cluster: ClusterReport, rows: CertificateReport[], axis: Axis, today: number): string {
  const height = AXIS_HEIGHT + rows.length * ROW_HEIGHT + 10;
  const xToday = xOf(axis, today);
  const grid = ticks(axis)
    .map(({ t, label }) => {
      const x = xOf(axis, t);
      return `<line class="tick" x1="${x}" y1="${AXIS_HEIGHT - 6}" x2="${x}" y2="${height - 6}"/><text class="tick-label" x="${x}" y="${AXIS_HEIGHT - 10}">${label}</text>`;
    })
    .join('');
  const body = rows.map((cert, i) => timelineRow(cert, AXIS_HEIGHT + i * ROW_HEIGHT, axis, today)).join('\n');
  return `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="Validity of the certificates of cluster ${esc(cluster.name)}">
<rect class="plot" x="${CHART_X0}" y="${AXIS_HEIGHT - 6}" width="${CHART_X1 - CHART_X0}" height="${height - AXIS_HEIGHT}"/>
${grid}
${body}
<line class="today" x1="${xToday}" y1="${AXIS_HEIGHT - 6}" x2="${xToday}" y2="${height - 6}"><title>today: ${esc(when(new Date(today).toISOString()))}</title></line>
<text class="today-label" x="${xToday}" y="${height - 1}">today</text>
</svg>`;
}

function timelineRow(cert: CertificateReport, y: number, axis: Axis, today: number): string {
  const name = esc(cert.name);
  const barY = y + (ROW_HEIGHT - BAR_HEIGHT) / 2;
  const mid = y + ROW_HEIGHT / 2;
  const label = `<text class="name" x="8" y="${mid + 4}">${esc(truncate(cert.name, 24))}<title>${name}</title></text>`;
  const nb = cert.notBefore ? Date.parse(cert.notBefore) : Number.NaN;
  const na = cert.notAfter ? Date.parse(cert.notAfter) : Number.NaN;
  const status = statusOf(cert);
  const open = `<g class="row status-${status}" data-certificate="${name}" data-status="${status}">`;
  if (!Number.isFinite(nb) || !Number.isFinite(na))
    return `${open}${label}<rect class="bar unreadable" x="${CHART_X0}" y="${barY}" width="${CHART_X1 - CHART_X0}" height="${BAR_HEIGHT}"><title>${name}: ${esc(cert.error?.message ?? 'cannot be read')}</title></rect><text class="unreadable-label" x="${CHART_X0 + 8}" y="${mid + 4}">cannot be read${cert.error ? `: ${esc(cert.error.name)}` : ''}</text><text class="days" x="${CHART_X1 + 8}" y="${mid + 4}">${STATUS_LABELS.invalid}</text></g>`;
  const x0 = xOf(axis, nb);
  const x1 = Math.max(xOf(axis, na), x0 + 2);
  const parts = [
    `<rect class="bar" x="${x0}" y="${barY}" width="${round(x1 - x0)}" height="${BAR_HEIGHT}" rx="2"><title>${name}: ${esc(STATUS_LABELS[status])}, valid ${esc(when(cert.notBefore))} to ${esc(when(cert.notAfter))}</title></rect>`,
  ];
  if (cert.renewed) {
    const rx0 = xOf(axis, today);
    const rx1 = Math.max(xOf(axis, Date.parse(cert.renewed.notAfter)), rx0 + 2);
    parts.push(
      `<rect class="renewed-bar" x="${rx0}" y="${barY + BAR_HEIGHT / 2 - 2}" width="${round(rx1 - rx0)}" height="4"><title>${name}: renewed, the new certificate is valid until ${esc(when(cert.renewed.notAfter))}</title></rect>`,
    );
  }
  const renewal = cert.renewalTime ? Date.parse(cert.renewalTime) : Number.NaN;
  if (Number.isFinite(renewal) && renewal >= axis.start && renewal <= axis.end) {
    const x = xOf(axis, renewal);
    parts.push(
      `<path class="renewal-point" d="M${x} ${barY - 3}l4 ${BAR_HEIGHT / 2 + 3}l-4 ${BAR_HEIGHT / 2 + 3}l-4 -${BAR_HEIGHT / 2 + 3}z"><title>${name}: renewal point ${esc(when(cert.renewalTime))}</title></path>`,
    );
  }
  if (na >= axis.start && na <= axis.end)
    parts.push(
      `<line class="expiry-point" x1="${x1}" y1="${barY - 3}" x2="${x1}" y2="${barY + BAR_HEIGHT + 3}"><title>${name}: expires ${esc(when(cert.notAfter))}</title></line>`,
    );
  const right = cert.renewed
    ? `renewed: ${dateOf(cert.renewed.notAfter)}`
    : `${dateOf(cert.notAfter)} · ${daysText(cert.daysLeft)}`;
  return `${open}${label}${parts.join('')}<text class="days" x="${CHART_X1 + 8}" y="${mid + 4}">${esc(right)}</text></g>`;
}

function truncate(text: string, max: number): string {
  const shown = visible(text);
  return shown.length <= max ? text : `${shown.slice(0, max - 1)}…`;
}

// ---- the details table -----------------------------------------------------------------------

function detailsTable(rows: CertificateReport[]): string {
  const head = [
    'certificate',
    'status',
    'left',
    'not before',
    'not after',
    'renewal point',
    'renewed by',
    'action',
    'DNS names',
    'issuer',
    'serial',
    'key',
    'notes',
  ]
    .map((h) => `<th>${h}</th>`)
    .join('');
  const body = rows
    .map((c) => {
      const status = statusOf(c);
      const key = c.keyType ? `${esc(c.keyType)}${c.keySize ? ` ${esc(c.keySize)}` : ''}` : '–';
      const keyMatch = c.keyMatches === false ? ' <strong>(key does not match)</strong>' : '';
      const notes = [
        c.error ? `<span class="error-text">${esc(c.error.name)}: ${esc(c.error.message)}</span>` : '',
        c.error?.hint ? `<span class="hint">${esc(c.error.hint)}</span>` : '',
        c.renewed
          ? `renewed: now valid until ${esc(when(c.renewed.notAfter))}, serial ${esc(c.renewed.serialNumber)}`
          : '',
        c.skipped ? esc(c.skipped) : '',
        c.window
          ? `maintenance window: ${esc(c.window.decision)}${c.window.nextOpen ? `, next opens ${esc(when(c.window.nextOpen))}` : ''}`
          : '',
        ...(c.warnings ?? []).map((w) => esc(w)),
      ].filter(Boolean);
      return `<tr data-certificate="${esc(c.name)}" data-status="${status}"><th scope="row" class="wrap">${esc(c.name)}</th><td class="status"><span class="badge status-${status}">${status}</span></td><td class="num">${esc(daysText(c.daysLeft))}</td><td>${esc(when(c.notBefore))}</td><td>${esc(when(c.notAfter))}</td><td>${esc(when(c.renewalTime))}</td><td>${c.managed ? esc(c.issuerType ?? 'acme') : 'watched only'}</td><td>${esc(c.action)}</td><td class="wrap">${c.dnsNames.map(esc).join('<br>') || '–'}</td><td class="wrap">${esc(c.issuer ?? '–')}</td><td class="mono">${esc(c.serialNumber ?? '–')}</td><td>${key}${keyMatch}</td><td class="wrap">${notes.join('<br>')}</td></tr>`;
    })
    .join('\n');
  return `<div class="scroll"><table class="details"><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></div>`;
}

// ---- style -----------------------------------------------------------------------------------

const statusRules = (Object.keys(STATUS_COLOURS) as CertificateStatus[])
  .map(
    (s) =>
      `.row.status-${s} .bar{fill:${STATUS_COLOURS[s]}}.swatch.status-${s},.badge.status-${s}{background:${STATUS_COLOURS[s]};color:#fff}td.count.status-${s}{color:${STATUS_COLOURS[s]}}`,
  )
  .join('');

const CSS = `:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 2px;word-break:break-all}
.generated,.meta{color:#444;margin:2px 0 10px}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
table{border-collapse:collapse}th,td{border:1px solid #d0d0d0;padding:3px 6px;text-align:left;vertical-align:top}
thead th{background:#f3f3f3;font-weight:600}
.summary td{font-size:18px;font-weight:600;text-align:center;min-width:70px}.summary .unreachable-count{color:#c62828}
.legend{list-style:none;padding:0;margin:10px 0;display:flex;flex-wrap:wrap;gap:16px}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:18px;height:12px;border-radius:2px}.badge{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600}
.mark{display:inline-block;width:12px;height:14px}.today-mark{border-left:2px dashed #1565c0}
.renewal-mark{background:#212121;clip-path:polygon(50% 0,100% 50%,50% 100%,0 50%)}.expiry-mark{border-left:2px solid #212121}
.timeline{display:block;margin:8px 0;font-size:12px;background:#fff}
.timeline .plot{fill:#fafafa;stroke:#e0e0e0}.timeline .tick{stroke:#e0e0e0}
.timeline .tick-label{fill:#555;text-anchor:middle}
.timeline .name{fill:#1b1b1b;font-weight:600}.timeline .days{fill:#333}
.timeline .bar.unreadable{opacity:.35}.timeline .unreadable-label{fill:#1b1b1b}
.timeline .renewal-point{fill:#212121}.timeline .expiry-point{stroke:#212121;stroke-width:2}
.timeline .renewed-bar{fill:${STATUS_COLOURS.ok};opacity:.6}
.timeline .today{stroke:#1565c0;stroke-width:2;stroke-dasharray:4 3}.timeline .today-label{fill:#1565c0;text-anchor:middle;font-weight:600}
${statusRules}
.scroll{overflow-x:auto;max-width:100%}
.details{font-size:12px;margin-bottom:8px}.details th,.details td{white-space:nowrap}.details td.num{text-align:right}
.details .wrap{white-space:normal;min-width:140px;max-width:340px;overflow-wrap:anywhere}
.error{border:1px solid #c62828;background:#fdecea;padding:8px 12px;max-width:880px}.error p{margin:4px 0}
.error-text{color:#b71c1c}.hint{color:#555}.problem{color:#b71c1c}
footer{margin-top:32px;color:#666;font-size:12px}
@media print{body{margin:0}.cluster{break-inside:avoid}}`;
