/** Where alerts go: Slack and SNS (adapters/slack, adapters/sns), fanned out by adapters/in-memory; the CLI also prints what it sent. */
import type { RunDigest } from '../digest';
import type { ErrorInfo } from '../errors';

export type Alert =
  | {
      kind: 'renewed';
      cluster: string;
      certificate: string;
      domains: string[];
      oldNotAfter: string | null;
      newNotAfter: string;
      serialNumber: string;
      fingerprint256: string;
      verification: string;
      /** The CA's ARI window that timed this renewal, when it gave one. */
      renewalWindow?: AlertRenewalWindow;
      /** How it reached the cluster: the API, the other certificates of the same call, a fallback. */
      pushedWith?: string;
    }
  | {
      kind: 'rolled-back';
      cluster: string;
      certificate: string;
      /** The certificate now on the cluster again. */
      notAfter: string;
      serialNumber: string;
      fingerprint256: string;
      /** The certificate it replaced (kept in turn, so the rollback can be undone). */
      replacedFingerprint256: string | null;
      verification: string;
      pushedWith?: string;
    }
  | {
      kind: 'window-overridden';
      cluster: string;
      certificates: string[];
      /** The earliest expiry among them. */
      expires: string | null;
      /** The next window opening, or null when none opens again. */
      nextOpen: string | null;
    }
  | {
      kind: 'active-active';
      cluster: string;
      /** The proxy or syncer certificates whose change calls for it. */
      certificates: string[];
      /** alert: run the commands; updated: done; failed: some database (or the listing) failed. */
      mode: 'alert' | 'updated' | 'failed';
      databases: ActiveActiveDatabase[];
      error?: ErrorInfo;
    }
  | { kind: 'renewal-failed'; cluster: string; certificate: string; error: ErrorInfo; action: string }
  | {
      kind: 'alert-only';
      cluster: string;
      certificate: string;
      status: string;
      notAfter: string | null;
      daysLeft: number | null;
      reason: string;
      /** The certificate's whole lifetime, so "expiring" reads at its scale (6 days is not 90). */
      lifetimeDays?: number | null;
    }
  | { kind: 'cluster-unreachable'; cluster: string; error: ErrorInfo }
  | {
      /** Due, but the run's order budget went to more urgent certificates: the next run orders it. */
      kind: 'order-deferred';
      cluster: string;
      certificate: string;
      status: string;
      notAfter: string | null;
      /** The budget it did not fit in: `new` orders (acme.orderBudget) or ARI `replaces` orders. */
      lane: 'new' | 'replaces';
      /** That lane's budget per run. */
      budget: number;
    };

export interface AlertRenewalWindow {
  start: string;
  end: string;
  explanationURL?: string;
  /** Set when the window was ignored: it would have renewed after the lifetime backstop (why). */
  ignored?: string;
}

export interface ActiveActiveDatabase {
  /** The database's GUID; for a value the cluster returned that is not GUID-shaped, that value quoted (status `refused`). */
  guid: string;
  name: string;
  /** The by-hand equivalent: crdb-cli crdb update --crdb-guid <guid> --force. Absent for a `refused` value. */
  command?: string;
  taskId?: string;
  status?: string;
  /** The task's errors[].description (or why it was not started). */
  error?: string;
}

export interface Notifier {
  send(alert: Alert): Promise<void>;
}

/** Where a run's digest goes (adapters/sns on AWS; ../digest.ts builds it). */
export interface DigestNotifier {
  sendDigest(digest: RunDigest): Promise<void>;
}
