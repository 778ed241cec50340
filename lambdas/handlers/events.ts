/**
 * The Lambda event and result shapes: the contract between the state machine (lib/) and the
 * handlers. Operators start executions by hand with CheckEvent, so it only grows.
 */
import type { Alert } from '../domain/ports';
import type { DueCertificate } from '../domain/renewal/context';
import type { ClusterReport } from '../domain/report';

/** Input of an execution and of the check task. The schedule sends `{}`. */
export interface CheckEvent {
  /** Renew these even when not due: `NAME` or `CLUSTER/NAME`, as `renew --force`. */
  force?: string[];
  /** Decide and report only: nothing is due for the Map. */
  dryRun?: boolean;
}

/**
 * One cluster in the check result. The full report is logged, not returned: Step Functions caps
 * state at 256 KB, which a full report of a few dozen clusters would exceed.
 */
export interface ClusterSummary {
  name: string;
  error: ClusterReport['error'];
  certificates: number;
  /** Count per status: ok, expiring, expired, invalid. */
  statuses: Record<string, number>;
  /** Days left of the soonest-expiring readable certificate. */
  minDaysLeft: number | null;
}

export interface CheckResult {
  generatedAt: string;
  clusters: ClusterSummary[];
  due: DueCertificate[];
  findings: Alert[];
  hasFindings: boolean;
}

/** What flows from Issue to Push to Verify. Never a key: the state store holds that. */
export interface RenewalStep extends DueCertificate {
  fingerprint256: string;
  notAfter: string;
  serialNumber: string;
  reused: boolean;
  replacedNotAfter?: string | null;
  verification?: string;
}

export type NotifyEvent =
  | { alerts: Alert[] }
  | { renewed: RenewalStep }
  | { failed: { item: DueCertificate | RenewalStep; error: { Error: string; Cause?: string } } };
