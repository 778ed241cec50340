/**
 * Hands a queue record back for later: ChangeMessageVisibility to the wait Slack asked for (its
 * Retry-After), so the record comes back then, not after the queue's whole visibility timeout, and
 * not sooner (which would be throttled again and count toward the dead-letter queue).
 */
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** SQS's cap on a visibility timeout: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface DelayedRecord {
  /** The record's messageId. */
  id: string;
  receiptHandle: string;
  seconds: number;
}

export class QueueVisibility {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /**
   * Sets each record's visibility, 10 per call (SQS's batch limit). Returns the ids SQS could not
   * change: those come back after the queue's own visibility timeout instead, which is only later.
   */
  async delay(records: readonly DelayedRecord[]): Promise<string[]> {
    const notChanged: string[] = [];
    for (let i = 0; i < records.length; i += 10) {
      const chunk = records.slice(i, i + 10);
      try {
        const out = await this.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: chunk.map((r, j) => ({
              Id: `r${j}`,
              ReceiptHandle: r.receiptHandle,
              VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(r.seconds))),
            })),
          }),
        );
        for (const failure of out.Failed ?? []) {
          const record = chunk[Number(failure.Id?.slice(1))];
          if (record) notChanged.push(record.id);
        }
      } catch {
        notChanged.push(...chunk.map((r) => r.id));
      }
    }
    return notChanged;
  }
}
