/**
 * What an alert says. One formatter serves every channel (stdout, Slack, SNS email), so an
 * operator reads the same words everywhere. Alerts name the cluster and certificate, never a secret.
 */
import type { Alert } from './ports';

export interface FormattedAlert {
  /** One line, at most 100 characters (SNS email subject limit). */
  subject: string;
  /** Plain text body. */
  text: string;
  severity: 'info' | 'warning' | 'critical';
}

const day = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'unknown');

export function formatAlert(alert: Alert): FormattedAlert {
  switch (alert.kind) {
    case 'renewed':
      return {
        severity: 'info',
        subject: clip(`[rs-cert-watchdog] Renewed ${alert.certificate} on ${alert.cluster}`),
        text: [
          `The ${alert.certificate} certificate of cluster ${alert.cluster} was renewed.`,
          `Old expiry: ${day(alert.oldNotAfter)}`,
          `New expiry: ${day(alert.newNotAfter)}`,
          `Domains: ${alert.domains.join(', ')}`,
          `Serial: ${alert.serialNumber}`,
          `SHA-256: ${alert.fingerprint256}`,
          `Verification: ${alert.verification}`,
          ...(alert.pushedWith ? [`Pushed with: ${alert.pushedWith}`] : []),
        ].join('\n'),
      };
    case 'rolled-back':
      return {
        severity: 'warning',
        subject: clip(`[rs-cert-watchdog] Rolled back ${alert.certificate} on ${alert.cluster}`),
        text: [
          `The ${alert.certificate} certificate of cluster ${alert.cluster} was rolled back to the one kept before the last renewal.`,
          `Now valid until: ${day(alert.notAfter)}`,
          `Serial: ${alert.serialNumber}`,
          `SHA-256: ${alert.fingerprint256}`,
          `Replaced (kept for an undo): ${alert.replacedFingerprint256 ?? 'unknown'}`,
          `Verification: ${alert.verification}`,
          ...(alert.pushedWith ? [`Pushed with: ${alert.pushedWith}`] : []),
        ].join('\n'),
      };
    case 'window-overridden':
      return {
        severity: 'warning',
        subject: clip(
          `[rs-cert-watchdog] Pushed ${alert.certificates.join(', ')} on ${alert.cluster} outside the maintenance window`,
        ),
        text: [
          `${alert.certificates.join(', ')} of cluster ${alert.cluster} were pushed outside every maintenance window: the current certificate expires ${day(alert.expires)}, ` +
            (alert.nextOpen
              ? `before the next window opens (${day(alert.nextOpen)}).`
              : 'and no window opens again.'),
          'Connections using these certificates were dropped and reconnected.',
        ].join('\n'),
      };
    case 'active-active':
      return formatActiveActive(alert);
    case 'renewal-failed':
      return {
        severity: 'critical',
        subject: clip(`[rs-cert-watchdog] FAILED to renew ${alert.certificate} on ${alert.cluster}`),
        text: [
          `Renewing the ${alert.certificate} certificate of cluster ${alert.cluster} failed.`,
          `Error: ${alert.error.name}: ${alert.error.message}`,
          ...(alert.error.hint ? [`Hint: ${alert.error.hint}`] : []),
          `What to do: ${alert.action}`,
        ].join('\n'),
      };
    case 'alert-only':
      return {
        severity: alert.status === 'expired' || alert.status === 'invalid' ? 'critical' : 'warning',
        subject: clip(`[rs-cert-watchdog] ${alert.certificate} on ${alert.cluster} is ${alert.status}`),
        text: [
          `The ${alert.certificate} certificate of cluster ${alert.cluster} is ${alert.status}` +
            (alert.daysLeft === null
              ? '.'
              : ` (${alert.daysLeft} days left, expires ${day(alert.notAfter)}).`),
          `It is not renewed automatically: ${alert.reason}`,
          'What to do: replace it by hand (PUT /v1/cluster/update_cert or rladmin), or list it under the cluster\'s "certificates" with its domains so that ACME renews it.',
        ].join('\n'),
      };
    case 'cluster-unreachable':
      return {
        severity: 'critical',
        subject: clip(`[rs-cert-watchdog] Cannot read certificates of ${alert.cluster}`),
        text: [
          `The certificates of cluster ${alert.cluster} could not be read, so their expiry is unknown.`,
          `Error: ${alert.error.name}: ${alert.error.message}`,
          ...(alert.error.hint ? [`Hint: ${alert.error.hint}`] : []),
        ].join('\n'),
      };
  }
}

function formatActiveActive(alert: Extract<Alert, { kind: 'active-active' }>): FormattedAlert {
  const certs = alert.certificates.join(' and ');
  const lines = alert.databases.map(
    (d) =>
      `  ${d.name} (${d.guid})` +
      (d.status ? `: task ${d.taskId ?? '?'} ${d.status}` : '') +
      (d.error ? `: ${d.error}` : '') +
      (alert.mode === 'updated' ? '' : `\n    ${d.command}`),
  );
  switch (alert.mode) {
    case 'alert':
      return {
        severity: 'warning',
        subject: clip(`[rs-cert-watchdog] Update Active-Active databases on ${alert.cluster}`),
        text: [
          `The ${certs} certificate of cluster ${alert.cluster} changed. Peers reject the old certificate and sync stops until each Active-Active database is force-updated, one at a time, with no other update in between:`,
          ...lines,
        ].join('\n'),
      };
    case 'updated':
      return {
        severity: 'info',
        subject: clip(`[rs-cert-watchdog] Active-Active databases updated on ${alert.cluster}`),
        text: [
          `After the ${certs} change on ${alert.cluster}, each Active-Active database was force-updated:`,
          ...lines,
        ].join('\n'),
      };
    case 'failed':
      return {
        severity: 'critical',
        subject: clip(`[rs-cert-watchdog] Active-Active update FAILED on ${alert.cluster}`),
        text: [
          `After the ${certs} change on ${alert.cluster}, the Active-Active follow-up failed; sync with peers may be stopped.`,
          ...(alert.error ? [`Error: ${alert.error.name}: ${alert.error.message}`] : []),
          ...(lines.length
            ? ['Databases:', ...lines]
            : [
                'List them with `crdb-cli crdb list` and run `crdb-cli crdb update --crdb-guid <guid> --force` for each.',
              ]),
        ].join('\n'),
      };
  }
}

/** A Slack Block Kit message for an alert. */
export function slackMessage(alert: Alert): { text: string; blocks: unknown[] } {
  const formatted = formatAlert(alert);
  const icon = { info: ':white_check_mark:', warning: ':warning:', critical: ':rotating_light:' }[
    formatted.severity
  ];
  const [first, ...rest] = formatted.text.split('\n');
  return {
    text: formatted.subject,
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: formatted.subject.replace('[rs-cert-watchdog] ', '').slice(0, 150),
        },
      },
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} ${first ?? ''}` } },
      ...(rest.length
        ? [{ type: 'section', text: { type: 'mrkdwn', text: rest.map(escapeMrkdwn).join('\n') } }]
        : []),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `cluster *${escapeMrkdwn(alert.cluster)}* · rs-cert-watchdog` }],
      },
    ],
  };
}

function clip(subject: string): string {
  return subject.length <= 100 ? subject : `${subject.slice(0, 99)}…`;
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
