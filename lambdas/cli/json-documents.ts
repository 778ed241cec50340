/**
 * The documents `--json` prints: the published JSON Schema (report.schema.json, `npm run schema`) is
 * generated from these types, and test/cli/json-schema.test.ts validates real outputs against it.
 * Fields are added over time, never renamed or removed.
 */
import type { FormattedAlert } from '../domain/alerts';
import type { ErrorInfo } from '../domain/errors';
import type { Alert } from '../domain/ports';
import type { RenewReport } from '../domain/renewal/runner';
import type { FleetReport } from '../domain/report';

/** `check --json` and `report --json`: every cluster and certificate as read, decided, never changed. */
export type CheckJsonReport = FleetReport;

/** An alert as `renew --json` lists it: the alert and how urgent it is. */
export type JsonAlert = Alert & {
  /** How urgent the alert is; SNS message attributes and Slack carry it too. */
  severity: FormattedAlert['severity'];
};

/** `renew --json`: the check, what was decided for each certificate (`plan`), what came of it (`action`), and the alerts sent. */
export interface RenewJsonReport extends Omit<RenewReport, 'alerts'> {
  /** The alerts this run sent (with `--dry-run`: would send), each with its severity. */
  alerts: JsonAlert[];
}

/**
 * What `--json` prints instead of a report when the command fails: a ConfigError (exit code 2) for a
 * usage or configuration error, the error's own name (exit code 1) for anything else.
 */
export type JsonError = ErrorInfo;

/** Any document `check`, `renew` or `report` prints with `--json`. */
export type JsonDocument = CheckJsonReport | RenewJsonReport | JsonError;
