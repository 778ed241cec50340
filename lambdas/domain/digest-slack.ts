/**
 * A run's digest as Slack Block Kit, within Slack's limits: a section's text at most 3,000
 * characters, a message at most 50 blocks. A group too long for one section goes on in the next;
 * a digest too long for one message goes on in the next message ("2/3"), up to `maxMessages`, and
 * what is left after that is counted ("… and 1,234 more lines in the full report").
 *
 * Every value from outside (cluster and certificate names, error text) is escaped for mrkdwn and
 * sections are `verbatim`, as for every alert (./alerts.ts): data never becomes a mention or a link.
 * The one link is the report's, and only an https:// URL without the characters that would break
 * out of Slack's `<url|text>` syntax.
 */
import { escapeMrkdwn, type SlackMessage } from './alerts';
import { type RunDigest, timeLeft } from './digest';

export interface SlackLimits {
  /** Characters of one section's text (Slack: 3,000). */
  maxSectionChars: number;
  /** Blocks of one message (Slack: 50). */
  maxBlocks: number;
  /** Messages one digest may take (each posted about a second apart). */
  maxMessages: number;
}

export const SLACK_LIMITS: SlackLimits = { maxSectionChars: 3000, maxBlocks: 50, maxMessages: 3 };

const ICON = { info: ':white_check_mark:', warning: ':warning:', critical: ':rotating_light:' } as const;

type Block = Record<string, unknown>;

/** The digest as one or more Slack messages, in order. */
export function digestSlackMessages(digest: RunDigest, limits: SlackLimits = SLACK_LIMITS): SlackMessage[] {
  const title = digest.subject.replace('[rs-cert-watchdog] ', '');
  const c = digest.counts;
  const summary = [
    `${ICON[digest.severity]} *${escapeMrkdwn(`${c.clusters.toLocaleString('en-US')} cluster(s), ${c.certificates.toLocaleString('en-US')} certificate(s)`)}*` +
      ` · ${c.clustersUnreadable.toLocaleString('en-US')} unreadable · ${c.certificatesExpired.toLocaleString('en-US')} expired` +
      ` · ${c.expiringWithin7Days.toLocaleString('en-US')} within 7 days · ${c.expiringWithin14Days.toLocaleString('en-US')} within 14 days`,
    `This run: ${c.renewed.toLocaleString('en-US')} renewed, ${c.failed.toLocaleString('en-US')} failed, ${c.deferred.toLocaleString('en-US')} deferred` +
      (c.minDaysLeft === null ? '' : ` · soonest expiry: ${escapeMrkdwn(timeLeft(c.minDaysLeft))}`),
    ...(digest.groups.length === 0 ? ['Nothing needs a person.'] : []),
  ].join('\n');
  const link = reportLink(digest);

  // Every line to show, each group's title first; pieces of one group stay in order.
  const pieces: string[] = [];
  for (const group of digest.groups) {
    const more = group.total - group.lines.length;
    pieces.push(
      `*${ICON[group.severity]} ${escapeMrkdwn(group.title)} (${group.total.toLocaleString('en-US')})*`,
    );
    for (const line of group.lines) pieces.push(`• ${escapeMrkdwn(line)}`);
    if (more > 0)
      pieces.push(
        `_… and ${more.toLocaleString('en-US')} more${digest.report ? ' in the full report' : ''}_`,
      );
  }
  if (digest.soonest.length) {
    pieces.push('*Soonest expiries*');
    for (const s of digest.soonest)
      pieces.push(
        `• ${escapeMrkdwn(`${s.cluster}/${s.certificate}`)}: ${escapeMrkdwn(s.notAfter.slice(0, 16).replace('T', ' '))} UTC (${escapeMrkdwn(s.status)})`,
      );
  }

  // Pack the pieces into sections of at most maxSectionChars, and the sections into messages.
  const sections: string[] = [];
  let current = '';
  for (const raw of pieces) {
    const piece = raw.length > limits.maxSectionChars ? `${raw.slice(0, limits.maxSectionChars - 1)}…` : raw;
    if (current && current.length + 1 + piece.length > limits.maxSectionChars) {
      sections.push(current);
      current = '';
    }
    current = current ? `${current}\n${piece}` : piece;
  }
  if (current) sections.push(current);

  const header = (text: string): Block => ({
    type: 'header',
    text: { type: 'plain_text', text: text.slice(0, 150) },
  });
  const firstFixed: Block[] = [header(title), section(summary), ...(link ? [link] : []), { type: 'divider' }];
  const messages: Block[][] = [];
  let blocks = [...firstFixed];
  let shown = 0;
  for (const text of sections) {
    // One block is kept free on the last message for the "more" line.
    const room = limits.maxBlocks - blocks.length - (messages.length === limits.maxMessages - 1 ? 1 : 0);
    if (room <= 0) {
      if (messages.length === limits.maxMessages - 1) break;
      messages.push(blocks);
      blocks = [header(`${title} (continued)`)];
    }
    blocks.push(section(text));
    shown++;
  }
  if (shown < sections.length) {
    const hiddenLines = sections.slice(shown).reduce((sum, s) => sum + s.split('\n').length, 0);
    blocks.push(
      section(
        `_… and ${hiddenLines.toLocaleString('en-US')} more line(s)${digest.report ? ' in the full report' : ''}: this digest is longer than ${limits.maxMessages} Slack messages_`,
      ),
    );
  }
  messages.push(blocks);
  return messages.map((b, i) => ({
    text: escapeMrkdwn(
      messages.length > 1 ? `${digest.subject} (${i + 1}/${messages.length})` : digest.subject,
    ),
    blocks: messages.length > 1 ? numbered(b, i, messages.length) : b,
  }));
}

function numbered(blocks: Block[], index: number, count: number): Block[] {
  const [first, ...rest] = blocks;
  const text = ((first?.text as { text?: string } | undefined)?.text ?? '').slice(0, 140);
  return [{ type: 'header', text: { type: 'plain_text', text: `${text} ${index + 1}/${count}` } }, ...rest];
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text, verbatim: true } };
}

/** The report link, when there is a URL Slack's `<url|text>` syntax can carry unchanged. */
function reportLink(digest: RunDigest): Block | undefined {
  const url = digest.report?.url;
  if (!url || !/^https:\/\/[^\s<>|]+$/.test(url)) return undefined;
  return { type: 'section', text: { type: 'mrkdwn', text: `<${url}|Open the full report>` } };
}
