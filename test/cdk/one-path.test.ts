/**
 * The CLI's local runner and the state machine run the same renewal: same step names, same order,
 * same retry policies, same error-to-outcome mapping. These tests read the SYNTHESIZED definition,
 * so a change to either side that the other does not follow fails here.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SKIPPED_ERRORS } from '../../lambdas/domain/errors';
import { RUNNER_STATES } from '../../lambdas/domain/renewal/runner';
import { RENEWAL_STEPS } from '../../lambdas/domain/renewal/steps';
import {
  DEFAULT_PUSH_RETRY,
  lockLeaseMs,
  PUSH_RETRY_ERRORS,
  STEP_TIMEOUT_MS,
} from '../../lambdas/domain/retry';
import { type AslState, synthesizedDefinition } from '../support/synthesized-definition';

const asl = synthesizedDefinition(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const renewDue = asl.States.RenewDue as AslState & {
  ItemProcessor: { StartAt: string; States: Record<string, AslState> };
};
const items = renewDue.ItemProcessor;

/** The states of one iteration in the order a successful renewal passes them, then the others. */
function happyPath(): string[] {
  const path: string[] = [];
  for (let name: string | undefined = items.StartAt; name; name = items.States[name]?.Next) path.push(name);
  return path;
}

describe('one renewal path', () => {
  it("the runner's step names are the item processor's state names", () => {
    expect(Object.keys(items.States).sort()).toEqual([...RUNNER_STATES].sort());
  });

  it('runs Issue → Push → Verify → ActiveActive → NotifyRenewed in the same order', () => {
    expect(happyPath()).toEqual([
      RENEWAL_STEPS.issue,
      RENEWAL_STEPS.push,
      RENEWAL_STEPS.verify,
      RENEWAL_STEPS.activeActive,
      RENEWAL_STEPS.notifyRenewed,
    ]);
  });

  it('sets "another run has it" aside per certificate inside Issue, and routes whole-batch failures to NotifyFailed, as the runner does', () => {
    // One iteration is one cluster's batch: a certificate another run holds (SKIPPED_ERRORS) is set
    // aside by Issue without an alert, so no state of the iteration catches those errors.
    expect(JSON.stringify(items.States)).not.toContain(SKIPPED_ERRORS[0]);
    for (const step of [RENEWAL_STEPS.issue, RENEWAL_STEPS.push, RENEWAL_STEPS.verify]) {
      const all = items.States[step]!.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(all?.Next).toBe(RENEWAL_STEPS.notifyFailed);
    }
  });

  it('retries Push on exactly the errors and numbers the runner uses', () => {
    const first = items.States[RENEWAL_STEPS.push]!.Retry![0]!;
    expect(first.ErrorEquals).toEqual([...PUSH_RETRY_ERRORS]);
    expect(first).toMatchObject({
      MaxAttempts: DEFAULT_PUSH_RETRY.maxAttempts,
      IntervalSeconds: DEFAULT_PUSH_RETRY.intervalSeconds,
      BackoffRate: DEFAULT_PUSH_RETRY.backoffRate,
      MaxDelaySeconds: DEFAULT_PUSH_RETRY.maxDelaySeconds,
      JitterStrategy: DEFAULT_PUSH_RETRY.jitter,
    });
  });

  it('gives each lock lease its step bound plus the wait before the next step, and no more than that', () => {
    expect(lockLeaseMs('issue')).toBeGreaterThan(STEP_TIMEOUT_MS.issue);
    expect(lockLeaseMs('push')).toBeGreaterThan(
      STEP_TIMEOUT_MS.push + DEFAULT_PUSH_RETRY.maxDelaySeconds * 1000,
    );
    expect(lockLeaseMs('verify')).toBeGreaterThan(STEP_TIMEOUT_MS.verify);
    // A crashed holder blocks the next run for minutes, not for the whole renewal.
    expect(lockLeaseMs('activeActive')).toBeGreaterThan(STEP_TIMEOUT_MS.activeActive);
    for (const step of ['issue', 'push', 'verify'] as const)
      expect(lockLeaseMs(step)).toBeLessThan(STEP_TIMEOUT_MS[step] + 10 * 60_000);
  });
});
