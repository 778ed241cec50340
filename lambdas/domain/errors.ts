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

// --- RS 8.x: certificate login, per-database certificates, upload checks (rs8) --------------------

/**
 * 401 to a Basic request because the cluster turned Basic authentication off (RS 8.2.0+,
 * `control_plane_basic_authentication: false`): no password works any more. The fix is a client
 * certificate (`clientCertificate` in the cluster's config).
 */
export class BasicAuthDisabledError extends ClusterApiError {
  override readonly name = 'BasicAuthDisabledError';
}

/**
 * The cluster refused the watchdog's client certificate (a 401 to a request that presented it, or
 * a TLS alert about it): not issued by a CA of `mtls_trusted_ca`, expired, no certificate user with
 * its subject, or certificate login (`mtls_certificate_authentication`) off.
 */
export class ClientCertificateRefusedError extends ClusterApiError {
  override readonly name = 'ClientCertificateRefusedError';
}

/**
 * RS 8.2.0+ refused an upload because the certificate's key does not suit the cluster's cipher
 * suites (an ECDSA key with RSA-only suites): the certificate's `keyType` must change.
 */
export class CipherSuiteMismatchError extends ClusterApiError {
  override readonly name = 'CipherSuiteMismatchError';
}

/** 404 for a database (GET /v1/bdbs/{uid}, POST /v1/bdbs/{uid}/certificates): no database has that uid. */
export class DatabaseNotFoundError extends ClusterApiError {
  override readonly name = 'DatabaseNotFoundError';
}

/**
 * A database listed under `databases` has no certificate of its own (GET
 * /v1/bdbs/{uid}/certificates answers 404): its clients are served the cluster's proxy certificate.
 * Reported on its row; a renewal installs its first certificate.
 */
export class DatabaseCertificateMissingError extends ClusterApiError {
  override readonly name = 'DatabaseCertificateMissingError';
}

/**
 * Databases are listed under `databases`, but the cluster does not serve per-database certificates
 * (GET /v1/bdbs/certificates answers 404, or every node runs RS 7.x). Reported on their rows.
 */
export class DatabaseCertificatesUnavailableError extends ClusterApiError {
  override readonly name = 'DatabaseCertificatesUnavailableError';
}

/** The client certificate (`clientCertificate`) could not be read or written where it lives. */
export class ClientCertificateStoreError extends WatchdogError {
  override readonly name = 'ClientCertificateStoreError';
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
  | 'usage-dropped'
  /** RS requires an RSA key (internode encryption certificates). */
  | 'key-type'
  /** A client certificate must keep its subject: RS matches users by it. */
  | 'subject-changed'

  /** A chain certificate that issues another is not a CA (no cA, or no keyCertSign). */
  | 'not-a-ca'
  /** The leaf lacks an extended key usage its role needs (serverAuth to serve, clientAuth to connect). */
  | 'usage-missing'
  /** A CA's name constraints exclude (or do not permit) a name of the leaf. */
  | 'name-constraints'
  /** More CAs below a CA than its pathLenConstraint allows. */
  | 'path-length'
  /** A TLS peer with the peers' trust refused it in the handshake for another reason (OpenSSL's words say which). */
  | 'refused-by-peers';

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

/**
 * The local CA's certificate file, key file or key secret does not hold what signing needs: the CA
 * certificate in PEM (a CA: basicConstraints cA), and its unencrypted PEM private key. The message
 * names the file (or secret) and what was expected; it never quotes the content.
 */
export class LocalCaFileError extends WatchdogError {
  override readonly name = 'LocalCaFileError';
}

// --- DNS, state, notifications --------------------------------------------------------------------

/** The DNS provider refused or failed to publish or remove the challenge record. */
export class DnsProviderError extends WatchdogError {
  override readonly name = 'DnsProviderError';
}

/**
 * The challenge records were published but not every server the check asks (`dns.resolvers`, or
 * the zone's authoritative servers) showed every value within `dns.propagationTimeoutSeconds`. The
 * CA was not asked to validate, so no failed authorization counts against its rate limits.
 */
export class DnsPropagationTimeoutError extends WatchdogError {
  override readonly name = 'DnsPropagationTimeoutError';
  /** The TXT names still incomplete somewhere. */
  readonly records: string[];
  constructor(records: string[], message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.records = records;
  }
}

/** An `_acme-challenge` CNAME chain comes back to a name it already passed. */
export class DnsCnameLoopError extends WatchdogError {
  override readonly name = 'DnsCnameLoopError';
}

/** An `_acme-challenge` CNAME chain is longer than 8 links. */
export class DnsCnameChainTooLongError extends WatchdogError {
  override readonly name = 'DnsCnameChainTooLongError';
}

/**
 * RFC 2136: TSIG failed. The server refused our signature (BADSIG: wrong secret; BADKEY: it does not
 * know the key name or algorithm; BADTIME: the clocks differ by more than the fudge), or its answer
 * does not carry a valid signature of the key (it may not come from the server).
 */
export class DnsTsigError extends WatchdogError {
  override readonly name = 'DnsTsigError';
  /** BADSIG, BADKEY, BADTIME when the server said so; absent when its answer failed our check. */
  readonly tsigError: string | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string; tsigError?: string }) {
    super(message, options);
    this.tsigError = options?.tsigError;
  }
}

/** RFC 2136: the server refused the update (REFUSED, NOTAUTH, NOTZONE): policy or the wrong server. */
export class DnsUpdateRefusedError extends WatchdogError {
  override readonly name = 'DnsUpdateRefusedError';
  readonly rcode: string;
  constructor(rcode: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.rcode = rcode;
  }
}

/** No zone to write a challenge name into: no matching Route 53 hosted zone, or one not allowed. */
export class DnsZoneNotFoundError extends WatchdogError {
  override readonly name = 'DnsZoneNotFoundError';
}

/** The exec provider's hook failed: a non-zero exit, a signal, a timeout, or it could not start. */
export class DnsHookError extends WatchdogError {
  override readonly name = 'DnsHookError';
}

/** The state (the local directory, the DynamoDB table or its KMS key) cannot be read or written. */
export class StateStoreError extends WatchdogError {
  override readonly name = 'StateStoreError';
}

/**
 * The move of earlier versions' state secrets stopped before its time ran out, with its progress
 * saved: the MigrateState task's Retry runs it again from where it stopped.
 */
export class StateMigrationIncompleteError extends WatchdogError {
  override readonly name = 'StateMigrationIncompleteError';
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
/**
 * A check shard (one Lambda invocation of the check map) failed as a whole: each of its clusters
 * is reported unread for this run, and the others go on (ToleratedFailurePercentage).
 */
export class CheckShardError extends WatchdogError {
  override readonly name = 'CheckShardError';
}

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
