/**
 * The Lambda event and result shapes: the contract between the state machine (lib/) and the
 * handlers. Operators start executions by hand with CheckEvent, so it only grows.
 */
import type { RunDigest } from '../domain/digest';
import type { Alert } from '../domain/ports';
import type { DueCertificate } from '../domain/renewal/context';
import type { RollbackRequest } from '../domain/renewal/rollback';
import type { ClusterBatch, RenewalStep } from '../domain/renewal/steps';
import type { ClusterSummary } from '../domain/report';
import type { DigestRunInput } from '../domain/run/digest-run';
import type { GatherInput } from '../domain/run/gather';
import type { ObjectRef, RunSummary, ShardResult } from '../domain/run/objects';
import type { ShardEvent } from '../domain/run/shard';

export type {
  ClusterSummary,
  DigestRunInput,
  GatherInput,
  ObjectRef,
  RunDigest,
  RunSummary,
  ShardEvent,
  ShardResult,
};

/** Input of an execution and of the check task. The schedules send `{}`. */
export interface CheckEvent {
  /** Renew these even when not due: `NAME` or `CLUSTER/NAME`, as `renew --force`. */
  force?: string[];
  /** Decide and report only: nothing is due for the Map. */
  dryRun?: boolean;
  /**
   * Put back the certificate each named one replaced, as `rs-cert-watchdog rollback`:
   * `{"rollback": [{"cluster": "C", "certificate": "NAME"}]}`. No fleet check runs.
   */
  rollback?: RollbackRequest[];
}

/**
 * What the check function is invoked with. The state machine sends the last three: a check shard
 * (the check map's child, Step Functions' ItemBatcher shape), Gather (the shards as one run), and
 * a rollback's plan. `CheckEvent` is a whole-fleet check in one invocation, answered with
 * `CheckResult` (kept for operators who invoke the function by hand; its arrays grow with the fleet).
 */
export type CheckFunctionEvent =
  | CheckEvent
  | ShardEvent
  | { gather: GatherInput }
  | { planRollback: { requests: RollbackRequest[]; execution: string } };

export interface CheckResult {
  generatedAt: string;
  clusters: ClusterSummary[];
  /** Every due certificate (kept for operators' scripts); the Map iterates over `batches`. */
  due: DueCertificate[];
  /** The due certificates grouped by cluster: one Map iteration, and one push, per cluster. */
  batches: BatchEvent[];
  findings: Alert[];
  hasFindings: boolean;
}

/** A Catch's output, as Step Functions shapes it. */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

/**
 * The Map item and what flows from Issue to Notify: one cluster's own due certificates (one push),
 * or (RS 8.x) one database certificate `bdb:<uid>` (its own POST, `push.api: "database"`), or the
 * client certificate `client` (written where it is kept, `push.api: "client"`, `push.target`; its
 * item carries `sameSubjectAs`, the current certificate's leaf). The state machine adds `execution`
 * (its `$$.Execution.Id`): the execution holds the certificates' locks. The ActiveActive state's
 * Catch puts its error at `activeActiveError`.
 */
export type BatchEvent = ClusterBatch & { execution?: string; activeActiveError?: CaughtError };
export type { ClusterBatch, RenewalStep };

export type NotifyEvent =
  | { alerts: Alert[] }
  | { renewed: BatchEvent }
  | { failed: { item: BatchEvent; error: CaughtError } }
  /**
   * One run's digest (domain/digest.ts `buildDigest`): published once to the alert topic, as an
   * email and, for the Slack forwarder, the digest itself. Bounded (lines per group are capped),
   * so it fits a state and an SNS message whatever the fleet.
   */
  | { digest: RunDigest }
  /** NotifyFindings: the run's findings object; only the immediate ones go out now, the rest in the digest. */
  | { findingsOf: ObjectRef }
  /** NotifyDigest: the run's digest, from its objects (findings and the renewals map's results). */
  | { digestOf: DigestRunInput };

/**
 * NotifyRenewed and NotifyFailed answer with the batch's alerts: the renewals map's ResultWriter
 * keeps them for the digest. Only the immediate ones (a failure, a failed Active-Active follow-up)
 * were published on their own.
 */
export interface NotifyResult {
  sent: number;
  alerts?: Alert[];
  /** NotifyDigest: where the digest and the full alert list were written. */
  digest?: ObjectRef;
}
