/** Asserts a Slack message keeps every Block Kit limit (lambdas/domain/alerts.ts SLACK_LIMITS). */
import { expect } from 'vitest';
import { SLACK_LIMITS } from '../../lambdas/domain/alerts';

export interface Block {
  type: string;
  text?: { type: string; text: string };
  elements?: Array<{ type: string; text: string }>;
}

/** Every Block Kit limit a message must keep, asserted; returns the message's shown text. */
export function expectWithinBlockKit(message: unknown): string {
  const { text, blocks } = message as { text: string; blocks: Block[] };
  expect(typeof text).toBe('string');
  expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  let total = 0;
  for (const block of blocks) {
    if (block.type === 'header') {
      expect(block.text?.type).toBe('plain_text');
      expect(block.text!.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
      expect(block.text!.text).not.toContain('\n');
      total += block.text!.text.length;
    } else if (block.type === 'section') {
      expect(block.text!.text.length).toBeGreaterThan(0);
      expect(block.text!.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      total += block.text!.text.length;
    } else if (block.type === 'context') {
      expect(block.elements!.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
      for (const e of block.elements!) {
        expect(e.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
        total += e.text.length;
      }
    } else throw new Error(`unexpected block ${block.type}`);
  }
  expect(total).toBeLessThanOrEqual(SLACK_LIMITS.totalText);
  return blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '').join('\n');
}
