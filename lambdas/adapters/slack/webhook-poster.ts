/**
 * One POST of a rendered message to a Slack incoming webhook, answered as data (status, Retry-After)
 * rather than thrown, for the forwarder's paced delivery (domain/paced-delivery.ts). The webhook URL
 * is a credential: it never appears in a reason.
 */
import type { SlackMessage } from '../../domain/alerts';
import type { PostAnswer } from '../../domain/paced-delivery';
import { exchange } from '../plain-http';

export async function postToWebhook(
  webhookUrl: string,
  message: SlackMessage,
  timeoutMs = 10_000,
): Promise<PostAnswer> {
  try {
    const response = await exchange(webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(message),
      timeoutMs,
      maxBytes: 64 * 1024,
      readHeaders: ['retry-after'],
    });
    if (response.status >= 200 && response.status <= 299) return { ok: true };
    const retryAfter = Number(response.headers?.['retry-after']);
    // Slack answers a short reason as plain text (invalid_blocks, channel_not_found, …): never the URL.
    const said = response.body
      .trim()
      .slice(0, 100)
      .replace(/[^\x20-\x7e]/g, '?');
    return {
      ok: false,
      status: response.status,
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
      reason: `Slack webhook answered ${response.status}${said ? ` (${said})` : ''}`,
    };
  } catch (error) {
    return { ok: false, status: null, reason: `Slack webhook unreachable: ${(error as Error).name}` };
  }
}
