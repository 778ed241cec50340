/** The human-readable form of a report: one table per cluster. */
import { formatAlert } from '../domain/alerts';
import type { Alert } from '../domain/ports';
import type { CertificateReport, FleetReport } from '../domain/report';

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');

export function renderReport(report: FleetReport): string {
  const out: string[] = [];
  for (const cluster of report.clusters) {
    out.push(`cluster ${cluster.name}`);
    if (cluster.error) {
      out.push(`  ERROR ${cluster.error.name}: ${cluster.error.message}`);
      if (cluster.error.hint) out.push(`  hint: ${cluster.error.hint}`);
      out.push('');
      continue;
    }
    const rows = cluster.certificates.map((c) => [
      c.name,
      c.status,
      c.daysLeft === null ? '-' : c.daysLeft.toFixed(1),
      when(c.notAfter),
      when(c.renewalTime),
      actionOf(c),
      c.dnsNames.join(',') || '-',
      c.issuer ?? '-',
    ]);
    out.push(
      ...table(
        ['CERTIFICATE', 'STATUS', 'DAYS', 'NOT AFTER', 'RENEW AT', 'ACTION', 'DNS NAMES', 'ISSUER'],
        rows,
      ),
    );
    for (const c of cluster.certificates) {
      if (c.error)
        out.push(
          `  ${c.name}: ${c.error.name}: ${c.error.message}${c.error.hint ? ` (${c.error.hint})` : ''}`,
        );
      if (c.renewalInfo)
        out.push(
          `  ${c.name}: ARI window ${when(c.renewalInfo.start)} to ${when(c.renewalInfo.end)}, renews at ${when(c.renewalInfo.renewAt)}${c.renewalInfo.explanationURL ? ` (${c.renewalInfo.explanationURL})` : ''}`,
        );
      if (c.renewalInfoError)
        out.push(`  ${c.name}: ARI unavailable, lifetime policy used: ${c.renewalInfoError.message}`);
      if (c.profile) out.push(`  ${c.name}: ACME profile ${c.profile}`);
      if (c.renewed)
        out.push(
          `  ${c.name}: renewed, now valid until ${when(c.renewed.notAfter)} (serial ${c.renewed.serialNumber})`,
        );
    }
    out.push('');
  }
  return out.join('\n');
}

function actionOf(c: CertificateReport): string {
  if (c.action !== 'none') return c.action;
  return c.managed ? (c.issuerType ?? 'acme') : 'watch';
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

export function renderAlerts(alerts: Alert[], dryRun: boolean): string {
  const lines = [dryRun ? 'alerts that would be sent (dry run):' : 'alerts sent:'];
  for (const alert of alerts) {
    const f = formatAlert(alert);
    lines.push(`  [${f.severity}] ${f.subject.replace('[rs-cert-watchdog] ', '')}`);
  }
  return lines.join('\n');
}
