/**
 * What an alert says. One formatter serves every channel (stdout, Slack, SNS email), so an
 * operator reads the same words everywhere. Alerts name the cluster and certificate, never a secret.
 */
import { CLIENT_CERTIFICATE, databaseUid, isKeyless } from './certificate-kinds';
import { humanDuration } from './policy';
import type { Alert } from './ports';

export interface FormattedAlert {
  /** One line of printable ASCII, fewer than 100 characters (what SNS accepts as a Subject). */
  subject: string;
  /** Plain text body. */
  text: string;
  severity: 'info' | 'warning' | 'critical';
}

const day = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'unknown');

/** How urgent an alert is; carried in every channel (JSON output, SNS attributes, Slack icon). */
export function alertSeverity(alert: Alert): FormattedAlert['severity'] {
  return formatAlert(alert).severity;
}

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
                ...(alert.renewalWindow.ignored ? [`Window ignored: ${alert.renewalWindow.ignored}`] : []),
              ]
            : []),
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
              : ` (${humanDuration(alert.daysLeft)} left${alert.lifetimeDays ? ` of its ${humanDuration(alert.lifetimeDays)} lifetime` : ''}, expires ${day(alert.notAfter)}).`),
          `It is not renewed automatically: ${alert.reason}`,
          `What to do: ${whatToDo(alert.certificate)}`,
        ].join('\n'),
      };
    case 'order-deferred':
      return {
        severity: alert.status === 'expired' || alert.status === 'invalid' ? 'critical' : 'warning',
        subject: clip(
          `[rs-cert-watchdog] Renewal of ${alert.certificate} on ${alert.cluster} deferred (order budget)`,
        ),
        text: [
          `The ${alert.certificate} certificate of cluster ${alert.cluster} is ${alert.status} (expires ${day(alert.notAfter)}) but was not ordered in this run: ` +
            `the run's order budget (${alert.lane === 'new' ? `acme.orderBudget: ${alert.budget} new orders` : `acme.replacesOrderBudget: ${alert.budget} ARI renewals`}) went to certificates closer to expiry.`,
          "What to do: nothing if the next runs have budget left: they order it, most urgent first. Raise the budget only within the CA's rate limits (Let's Encrypt: 300 new orders per 3 hours), or renew it now with renew --force CLUSTER/NAME.",
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

/** The fix an alert-only certificate calls for, by its kind (cluster, database, client, keyless). */
function whatToDo(certificate: string): string {
  const uid = databaseUid(certificate);
  if (uid !== null)
    return `replace it (POST /v1/bdbs/${uid}/certificates), or list "${uid}" under the cluster's "databases" with its domains so that the watchdog renews it.`;
  if (certificate === CLIENT_CERTIFICATE)
    return 'issue a new client certificate with the same subject and install it where clientCertificate points, or give clientCertificate an "issuer" (a private CA) so that the watchdog renews it.';
  if (isKeyless(certificate))
    return `upload a new ${certificate} certificate (PUT /v1/cluster/certificates, no key); the watchdog never replaces it.`;
  return 'replace it by hand (PUT /v1/cluster/update_cert or rladmin), or list it under the cluster\'s "certificates" with its domains so that ACME renews it.';
}

function formatActiveActive(alert: Extract<Alert, { kind: 'active-active' }>): FormattedAlert {
  const certs = alert.certificates.join(' and ');
  const lines = alert.databases.map(
    (d) =>
      `  ${d.name} (${d.guid})` +
      (d.status ? `: ${d.taskId ? `task ${d.taskId} ` : ''}${d.status}` : '') +
      (d.error ? `: ${d.error}` : '') +
      (alert.mode === 'updated' || !d.command ? '' : `\n    ${d.command}`),
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

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

/**
 * Block Kit's limits (docs.slack.dev, Block Kit reference): a section's text at most 3,000
 * characters, a header's plain text at most 150, at most 50 blocks in a message and 10 elements in a
 * context block. Slack also refuses a message whose blocks hold too much text in all
 * (`msg_blocks_too_long`), a limit it does not document; it was measured to refuse 11,341 characters
 * and said to be about 12,000 (slackapi/bolt-js#2867), so every message keeps to 10,000. A message
 * past any of them is refused whole (`invalid_blocks`): the operator would hear nothing.
 */
export const SLACK_LIMITS = {
  sectionText: 3_000,
  headerText: 150,
  blocks: 50,
  contextElements: 10,
  totalText: 10_000,
} as const;

/** Room kept for the context block and the "and N more" section, out of totalText. */
const RESERVED_TEXT = 600;

/**
 * A Slack Block Kit message for an alert. Every value from outside (certificate and cluster names,
 * error messages from a cluster or a CA) is escaped for mrkdwn (`&`, `<`, `>`), and sections are
 * `verbatim`, so data can never become a mention (`<!channel>`), a link or a channel reference.
 * Within SLACK_LIMITS whatever the alert holds: lines are packed into sections of at most 3,000
 * characters, a longer line is cut ("… N more characters"), and lines past the message's budget are
 * left out with "… and N more lines" (the email alert and the run's report carry everything).
 */
export function slackMessage(alert: Alert): SlackMessage {
  const formatted = formatAlert(alert);
  const icon = { info: ':white_check_mark:', warning: ':warning:', critical: ':rotating_light:' }[
    formatted.severity
  ];
  const [first, ...rest] = formatted.text.split('\n');
  return {
    text: escapeMrkdwn(formatted.subject),
    blocks: [
      headerBlock(formatted.subject.replace('[rs-cert-watchdog] ', '')),
      // The headline in a section of its own, the details below it.
      ...mrkdwnSections([`${icon} ${first ?? ''}`, ...rest], undefined, { firstAlone: true }),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `cluster *${escapeMrkdwn(cutChars(alert.cluster, 200))}* · rs-cert-watchdog`,
            verbatim: true,
          },
        ],
      },
    ],
  };
}

/** A header block: plain text, one line, at most 150 characters. */
function headerBlock(title: string): unknown {
  return {
    type: 'header',
    text: { type: 'plain_text', text: cutChars(title.replace(/\s+/g, ' '), SLACK_LIMITS.headerText) },
  };
}

/** At most `max` UTF-16 units (what Slack counts, never fewer than characters), cut at a character, with "…". */
function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/**
 * The longest start of `raw` whose mrkdwn-escaped form fits `budget`, escaped: a cut never splits an
 * entity (`&amp;`) or a character.
 */
function escapedPrefix(raw: string, budget: number): { text: string; taken: number } {
  let text = '';
  let taken = 0;
  for (const ch of raw) {
    const escaped = escapeMrkdwn(ch);
    if (text.length + escaped.length > budget) break;
    text += escaped;
    taken += ch.length;
  }
  return { text, taken };
}

/** One line, escaped, within `budget`: cut with "… (N more characters)" when longer. */
function fittedLine(raw: string, budget: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= budget) return escaped;
  const marker = (n: number) => ` … (${n.toLocaleString('en-US')} more characters)`;
  const { text, taken } = escapedPrefix(raw, budget - marker(raw.length).length);
  return `${text}${marker(raw.length - taken)}`;
}

/**
 * Lines (raw text) as verbatim mrkdwn sections within SLACK_LIMITS: packed in order, each section at
 * most 3,000 characters, all of them within the message's text budget; what does not fit is counted
 * in a last "… and N more lines" section. `wrap` frames each section (a code block), its length counted.
 */
function mrkdwnSections(
  lines: string[],
  wrap: (text: string) => string = (t) => t,
  options: { firstAlone?: boolean } = {},
): unknown[] {
  const frame = wrap('').length;
  const sectionBudget = SLACK_LIMITS.sectionText - frame;
  const textBudget = SLACK_LIMITS.totalText - RESERVED_TEXT;
  // Header, context, and the "and N more" section besides these.
  const maxSections = SLACK_LIMITS.blocks - 3;
  const sections: string[] = [];
  let current = '';
  let total = 0;
  let shown = 0;
  for (const raw of lines) {
    const line = fittedLine(raw, sectionBudget);
    const joined = current === '' ? line : `${current}\n${line}`;
    const newSection = options.firstAlone === true && shown === 1;
    if (!newSection && joined.length <= sectionBudget) {
      if (total + line.length + frame > textBudget) break;
      current = joined;
    } else {
      if (sections.length + 1 >= maxSections || total + line.length + 2 * frame > textBudget) break;
      if (current !== '') sections.push(current);
      current = line;
    }
    total += line.length + 1;
    shown++;
  }
  if (current !== '') sections.push(current);
  if (sections.length === 0) sections.push(fittedLine('(no text)', sectionBudget)); // Slack refuses an empty section
  const omitted = lines.length - shown;
  const blocks = sections.map((text) => mrkdwnSection(wrap(text)));
  if (omitted > 0)
    blocks.push(
      mrkdwnSection(
        `… and ${omitted.toLocaleString('en-US')} more line${omitted === 1 ? '' : 's'} not shown here (Slack's message limits): the email alert and the run's report have all of it`,
      ),
    );
  return blocks;
}

/** The fields of a CloudWatch alarm notification on SNS that we render (the rest are ignored). */
export interface CloudWatchAlarmNotification {
  AlarmName: string;
  NewStateValue: string;
  NewStateReason?: string;
  OldStateValue?: string;
  AlarmDescription?: string | null;
  StateChangeTime?: string;
  AlarmArn?: string;
  Region?: string;
  AWSAccountId?: string;
}

export function isAlarmNotification(value: unknown): value is CloudWatchAlarmNotification {
  const v = value as Partial<CloudWatchAlarmNotification> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.AlarmName === 'string' &&
    typeof v.NewStateValue === 'string'
  );
}

/**
 * The console page of an alarm, from its ARN (`arn:PARTITION:cloudwatch:REGION:ACCOUNT:alarm:NAME`);
 * the notification's `Region` is a display name ("US East (N. Virginia)"), not a region code.
 */
export function alarmConsoleUrl(
  alarm: Pick<CloudWatchAlarmNotification, 'AlarmName' | 'AlarmArn'>,
): string | undefined {
  const match = /^arn:(aws[a-z-]*):cloudwatch:([a-z0-9-]+):\d{12}:alarm:/.exec(alarm.AlarmArn ?? '');
  if (!match) return undefined;
  const partition = match[1] as string;
  const region = match[2] as string;
  const host =
    partition === 'aws-cn'
      ? `${region}.console.amazonaws.cn`
      : partition === 'aws-us-gov'
        ? 'console.amazonaws-us-gov.com'
        : `${region}.console.aws.amazon.com`;
  return `https://${host}/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarm.AlarmName)}`;
}

/** A CloudWatch alarm notification (the watchdog's own alarms: heartbeat, failed or timed-out runs). */
export function slackAlarmMessage(alarm: CloudWatchAlarmNotification): SlackMessage {
  const state = alarm.NewStateValue;
  const icon =
    state === 'ALARM' ? ':rotating_light:' : state === 'OK' ? ':white_check_mark:' : ':grey_question:';
  const title = `Alarm ${alarm.AlarmName} is ${state}`;
  const url = alarmConsoleUrl(alarm);
  // Raw text: mrkdwnSections escapes it (the `*` of the title is mrkdwn we mean, and escaping keeps it).
  const lines = [
    `${icon} *${title}*${alarm.OldStateValue ? ` (was ${alarm.OldStateValue})` : ''}`,
    ...(alarm.AlarmDescription ? [alarm.AlarmDescription] : []),
    ...(alarm.NewStateReason ? [`Reason: ${alarm.NewStateReason}`] : []),
    ...(alarm.StateChangeTime ? [`Since: ${alarm.StateChangeTime}`] : []),
  ];
  return {
    text: escapeMrkdwn(cutChars(`[rs-cert-watchdog] ${title}`, SLACK_LIMITS.sectionText)),
    blocks: [
      headerBlock(title),
      ...mrkdwnSections(lines),
      // The only link in any message, and one we built: the alarm name in it is URL-encoded.
      ...(url
        ? [
            {
              type: 'section',
              text: { type: 'mrkdwn', text: `<${url}|Open the alarm in the CloudWatch console>` },
            },
          ]
        : []),
    ],
  };
}

/** Any other message on the topic, shown as literal text: nothing in it is interpreted. */
export function slackTextMessage(subject: string | null | undefined, message: string): SlackMessage {
  const title = subject?.trim() ? subject.trim() : 'rs-cert-watchdog notification';
  const literal = message.replace(/```/g, "'''");
  return {
    text: escapeMrkdwn(cutChars(title, SLACK_LIMITS.headerText)),
    blocks: [
      headerBlock(title),
      // Code blocks: Slack shows their content as typed.
      ...mrkdwnSections(literal.split('\n'), (text) => `\`\`\`${text}\`\`\``),
    ],
  };
}

function mrkdwnSection(text: string): unknown {
  return { type: 'section', text: { type: 'mrkdwn', text, verbatim: true } };
}

/**
 * An SNS Subject: printable ASCII on one line, fewer than 100 characters. Control characters and
 * line breaks become spaces; other non-ASCII characters become "?" (the body keeps the full names).
 */
export function clip(subject: string): string {
  const ascii = subject
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/[^\x20-\x7e]/gu, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
  return ascii.length < 100 ? ascii : `${ascii.slice(0, 96).trimEnd()}...`;
}

/** Slack mrkdwn's control characters: `&`, `<` and `>` (api.slack.com/reference/surfaces/formatting#escaping). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
