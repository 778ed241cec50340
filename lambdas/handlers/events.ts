/**
 * The Lambda event and result shapes: the contract between the state machine (lib/) and the
 * handlers. Operators start executions by hand with CheckEvent, so it only grows.
 */
import type { Alert } from '../domain/ports';
import type { DueCertificate } from '../domain/renewal/context';
import type { RenewalStep } from '../domain/renewal/steps';
import type { ClusterSummary } from '../domain/report';

export type { ClusterSummary };

/** Input of an execution and of the check task. The schedule sends `{}`. */
export interface CheckEvent {
  /** Renew these even when not due: `NAME` or `CLUSTER/NAME`, as `renew --force`. */
  force?: string[];
  /** Decide and report only: nothing is due for the Map. */
  dryRun?: boolean;
}

export interface CheckResult {
  generatedAt: string;
  clusters: ClusterSummary[];
  due: DueCertificate[];
  findings: Alert[];
  hasFindings: boolean;
}

/**
 * The Map item (a due certificate) and what flows from Issue to Push to Verify to Notify. The state
 * machine adds `execution` (its `$$.Execution.Id`): the execution holds the certificate's lock.
 */
export type ItemEvent = DueCertificate & { execution?: string };
export type StepEvent = RenewalStep & { execution?: string };
export type { RenewalStep };

export type NotifyEvent =
  | { alerts: Alert[] }
  | { renewed: StepEvent }
  | { failed: { item: ItemEvent | StepEvent; error: { Error: string; Cause?: string } } };
