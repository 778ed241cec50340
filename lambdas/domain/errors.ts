/**
 * The error taxonomy. Every error the watchdog raises on purpose is one of these classes.
 *
 * `name` is set explicitly (never derived from the constructor, which minification renames) because
 * it is an interface: Step Functions Retry/Catch match on it, the CLI's `--json` output carries it,
 * and operators grep for it. Renaming one is a breaking change.
 *
 * Messages say what happened and what to do. They never carry a secret: a password, a private key,
 * an ACME account key, or the body of `GET /v1/cluster/certificates` (which holds private keys).
 */

export abstract class WatchdogError extends Error {
  abstract override readonly name: string;
  /** A short hint for the operator: what to check or do next. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint;
  }
}

/** The configuration file or the command line is wrong. CLI exit code 2. */
export class ConfigError extends WatchdogError {
  override readonly name = 'ConfigError';
}

// --- Talking to the Redis Enterprise REST API ------------------------------------------------------

/** Base for every error about one cluster's REST API. */
export abstract class ClusterApiError extends WatchdogError {
  /** HTTP status, when the cluster answered. */
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string; status?: number }) {
    super(message, options);
    this.status = options?.status;
  }
}

/** 401: the username or password was refused. */
export class AuthenticationError extends ClusterApiError {
  override readonly name = 'AuthenticationError';
}

/** 403 on a read: the user lacks a permission such as view_cluster_info. */
export class PermissionDeniedError extends ClusterApiError {
  override readonly name = 'PermissionDeniedError';
}

/** 400 or 404 on update_cert: the cluster rejected the certificate or key as invalid. */
export class InvalidCertificateError extends ClusterApiError {
  override readonly name = 'InvalidCertificateError';
}

/** 403 on update_cert, 404 on delete: the cluster does not know this certificate name. */
export class UnknownCertificateError extends ClusterApiError {
  override readonly name = 'UnknownCertificateError';
}

/** 406 on update_cert: the cluster considers the certificate expired (or not yet valid). */
export class ExpiredCertificateError extends ClusterApiError {
  override readonly name = 'ExpiredCertificateError';
}

/**
 * 409 on update_cert: "not all nodes have been updated". The cluster is half-updated; pushing the
 * same certificate again after a backoff is the documented recovery. Step Functions retries on this name.
 */
export class NodesNotUpdatedError extends ClusterApiError {
  override readonly name = 'NodesNotUpdatedError';
}

/**
 * 404 or 405 from PUT /v1/cluster/certificates: the cluster predates RS 7.22.2 (or a proxy hides the
 * route). The push falls back once to PUT /v1/cluster/update_cert.
 */
export class PushApiUnavailableError extends ClusterApiError {
  override readonly name = 'PushApiUnavailableError';
}

/** An Active-Active database could not be listed or force-updated, or its update task failed. */
export class ActiveActiveUpdateError extends ClusterApiError {
  override readonly name = 'ActiveActiveUpdateError';
}

/** Any other 5xx. */
export class ClusterServerError extends ClusterApiError {
  override readonly name = 'ClusterServerError';
}

/** A status code the API reference does not document for this request. */
export class UnexpectedStatusError extends ClusterApiError {
  override readonly name = 'UnexpectedStatusError';
}

/** The cluster's TLS certificate is not trusted (or does not name the endpoint). No credentials were sent. */
export class TlsTrustError extends ClusterApiError {
  override readonly name = 'TlsTrustError';
}

/**
 * The TLS handshake failed on the protocol itself: no TLS version or cipher in common (often an old
 * server, or a proxy in between). No credentials were sent.
 */
export class TlsProtocolError extends ClusterApiError {
  override readonly name = 'TlsProtocolError';
}

/** Connecting or the whole request took longer than allowed. */
export class ClusterTimeoutError extends ClusterApiError {
  override readonly name = 'ClusterTimeoutError';
  readonly phase: 'connect' | 'request';
  constructor(phase: 'connect' | 'request', message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.phase = phase;
  }
}

/** The connection failed or was reset. */
export class ClusterNetworkError extends ClusterApiError {
  override readonly name = 'ClusterNetworkError';
}

/** The cluster answered 200 with a body we cannot use (malformed JSON, wrong shape). */
export class BadResponseError extends ClusterApiError {
  override readonly name = 'BadResponseError';
}

// --- Certificates ---------------------------------------------------------------------------------

/** A PEM field that does not parse. */
export class CertificateParseError extends WatchdogError {
  override readonly name = 'CertificateParseError';
}

export type ValidationFailure =
  | 'key-mismatch'
  | 'chain-incomplete'
  | 'untrusted-root'
  | 'not-yet-valid'
  | 'expired'
  | 'domains-missing'
  | 'not-later'
  | 'usage-dropped';

/** A certificate we were about to push would break the cluster; nothing was pushed. */
export class CertificateValidationError extends WatchdogError {
  override readonly name = 'CertificateValidationError';
  readonly failure: ValidationFailure;
  constructor(failure: ValidationFailure, message: string, options?: { hint?: string }) {
    super(message, options);
    this.failure = failure;
  }
}

// --- ACME -----------------------------------------------------------------------------------------

/** The ACME account or configuration is unusable (no acme section, EAB refused, terms). */
export class AcmeAccountError extends WatchdogError {
  override readonly name = 'AcmeAccountError';
}

/** The CA said `rateLimited`. We do not hammer it: the run reports and the schedule tries later. */
export class AcmeRateLimitedError extends WatchdogError {
  override readonly name = 'AcmeRateLimitedError';
  readonly retryAfter: Date | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string; retryAfter?: Date }) {
    super(message, options);
    this.retryAfter = options?.retryAfter;
  }
}

/** A DNS-01 challenge failed validation at the CA. */
export class AcmeValidationError extends WatchdogError {
  override readonly name = 'AcmeValidationError';
  readonly record: string;
  constructor(record: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.record = record;
  }
}

/** The CA kept rejecting our nonces beyond our retry budget. */
export class AcmeBadNonceError extends WatchdogError {
  override readonly name = 'AcmeBadNonceError';
}

/** The ACME server's TLS certificate is not trusted. */
export class AcmeTrustError extends WatchdogError {
  override readonly name = 'AcmeTrustError';
}

/**
 * The ACME server sent a response larger than we accept (a certificate chain over 1 MB, any other
 * answer over 256 KB). It was refused while arriving, never read whole.
 */
export class AcmeResponseTooLargeError extends WatchdogError {
  override readonly name = 'AcmeResponseTooLargeError';
}

/** Any other ACME failure (server error, order invalid, timeout). */
export class AcmeError extends WatchdogError {
  override readonly name = 'AcmeError';
}

/** The configured ACME profile is not one the CA offers (its directory's meta.profiles): no order is placed. */
export class AcmeProfileError extends WatchdogError {
  override readonly name = 'AcmeProfileError';
}

/**
 * ACME Renewal Information (RFC 9773) could not be read for a certificate: it has no certID, or the
 * CA's renewalInfo answered an error or nonsense. Never fatal: the lifetime policy decides instead.
 */
export class RenewalInfoError extends WatchdogError {
  override readonly name = 'RenewalInfoError';
  /**
   * The CA could not be asked at all: a network error or timeout, or its directory failed. Not a
   * 404 or an error answer for one certificate. A run stops asking after the first (a circuit breaker).
   */
  readonly unreachable: boolean;

  constructor(message: string, options?: { cause?: unknown; hint?: string; unreachable?: boolean }) {
    super(message, options);
    this.unreachable = options?.unreachable ?? false;
  }
}

/** A private CA (AWS Private CA or the local CA) refused or failed to issue a certificate. */
export class PrivateCaError extends WatchdogError {
  override readonly name = 'PrivateCaError';
}

// --- DNS, state, notifications --------------------------------------------------------------------

/** The DNS provider refused or failed to publish or remove the challenge record. */
export class DnsProviderError extends WatchdogError {
  override readonly name = 'DnsProviderError';
}

/** The state store (directory or Secrets Manager) cannot be read or written. */
export class StateStoreError extends WatchdogError {
  override readonly name = 'StateStoreError';
}

/** Another run holds the lock for this certificate: this run leaves it alone (not a failure). */
export class StateLockedError extends WatchdogError {
  override readonly name = 'StateLockedError';
}

/**
 * Another run renewed this certificate between this run's check and its turn: the cluster already
 * holds and serves the saved, verified certificate. This run leaves it alone (not a failure).
 */
export class AlreadyRenewedError extends WatchdogError {
  override readonly name = 'AlreadyRenewedError';
}

/**
 * The run's order budget (acme.orderBudget) went to certificates closer to expiry, and no saved
 * certificate fits: nothing was ordered for this one. Not a failure: it is reported as deferred and
 * the next run orders it (most urgent first).
 */
export class OrderDeferredError extends WatchdogError {
  override readonly name = 'OrderDeferredError';
}

/** Error names that mean "another run has it in hand": the step is skipped, nothing is alerted. */
export const SKIPPED_ERRORS = ['StateLockedError', 'AlreadyRenewedError'] as const;

/** An alert could not be delivered. */
export class NotificationError extends WatchdogError {
  override readonly name = 'NotificationError';
}

/**
 * A rollback was refused before anything was pushed: nothing is kept, or the kept certificate has
 * expired or does not validate.
 */
export class RollbackRefusedError extends WatchdogError {
  override readonly name = 'RollbackRefusedError';
}

/** The pushed certificate is not what the cluster holds or serves afterwards. */
export class VerificationError extends WatchdogError {
  override readonly name = 'VerificationError';
}

/** The plain-data form of an error, as it appears in reports, alerts and Lambda results. */
export interface ErrorInfo {
  name: string;
  message: string;
  hint?: string;
}

export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof WatchdogError) {
    return error.hint === undefined
      ? { name: error.name, message: error.message }
      : { name: error.name, message: error.message, hint: error.hint };
  }
  if (error instanceof Error) return { name: 'InternalError', message: error.message };
  return { name: 'InternalError', message: String(error) };
}
