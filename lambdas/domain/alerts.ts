/**
 * What an alert says. One formatter serves every channel (stdout, Slack, SNS email), so an
 * operator reads the same words everywhere. Alerts name the cluster and certificate, never a secret.
 */
import { humanDuration } from './policy';
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
          ...(alert.renewalWindow
            ? [
                `Renewal window (ARI, from the CA): ${day(alert.renewalWindow.start)} to ${day(alert.renewalWindow.end)}` +
                  (alert.renewalWindow.explanationURL ? `; why: ${alert.renewalWindow.explanationURL}` : ''),
              ]
            : []),
        ].join('\n'),
      };
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
              : ` (${humanDuration(alert.daysLeft)} left${alert.lifetimeDays ? ` of its ${humanDuration(alert.lifetimeDays)} lifetime` : ''}, expires ${day(alert.notAfter)}).`),
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
