/** The human-readable form of a report: one table per cluster. */
import { formatAlert } from '../domain/alerts';
import type { Alert } from '../domain/ports';
import type { CertificateReport, FleetReport } from '../domain/report';

const when = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');

export function renderReport(report: FleetReport): string {
  const out: string[] = [];
  for (const cluster of report.clusters) {
    out.push(`cluster ${cluster.name}${describeVersions(cluster)}`);
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
      if (c.renewed)
        out.push(
          `  ${c.name}: renewed, now valid until ${when(c.renewed.notAfter)} (serial ${c.renewed.serialNumber})`,
        );
      if (c.window?.decision === 'wait')
        out.push(`  ${c.name}: waits for the next maintenance window, opening ${when(c.window.nextOpen)}`);
      if (c.window?.decision === 'override')
        out.push(
          `  ${c.name}: expires before the next maintenance window (${when(c.window.nextOpen)}): pushed at once, overriding the windows`,
        );
    }
    if (cluster.push)
      out.push(
        `  pushed ${cluster.push.certificates.join(', ')} in one push (${cluster.push.api})${cluster.push.fellBack ? `: ${cluster.push.fellBack}` : ''}`,
      );
    out.push('');
  }
  return out.join('\n');
}

/** " (RS 7.22.2-14, push API certificates)" when the nodes were read. */
function describeVersions(cluster: FleetReport['clusters'][number]): string {
  if (!cluster.softwareVersions) return '';
  const versions = [...new Set(cluster.softwareVersions.map((v) => v ?? 'unknown'))].join(', ');
  return ` (RS ${versions}, push API ${cluster.pushApi ?? 'unknown'})`;
}

function actionOf(c: CertificateReport): string {
  if (c.action !== 'none') return c.action;
  return c.managed ? 'acme' : 'watch';
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
