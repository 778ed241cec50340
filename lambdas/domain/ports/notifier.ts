/** Where alerts go: Slack and SNS (adapters/slack, adapters/sns), fanned out by adapters/in-memory; the CLI also prints what it sent. */
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
  | { kind: 'cluster-unreachable'; cluster: string; error: ErrorInfo };

export interface AlertRenewalWindow {
  start: string;
  end: string;
  explanationURL?: string;
}

export interface Notifier {
  send(alert: Alert): Promise<void>;
}
