/**
 * The outcome of one renewal as an alert: the NotifyRenewed and NotifyFailed steps. One place for
 * the words of both paths (the CLI's runner and the state machine's notify task).
 */
import type { WatchdogConfig } from '../config/types';
import type { ErrorInfo } from '../errors';
import type { Alert } from '../ports';
import type { DueCertificate } from './context';
import { orderBudgetOf, orderLane } from './order-budget';

interface StoredCertificateLike {
  domains: string[];
  notAfter: string;
  serialNumber: string;
  fingerprint256: string;
}

export function renewedAlert(
  item: DueCertificate,
  certificate: Pick<StoredCertificateLike, 'domains' | 'notAfter' | 'serialNumber' | 'fingerprint256'>,
  oldNotAfter: string | null,
  verification: string,
): Alert {
  return {
    kind: 'renewed',
    cluster: item.cluster,
    certificate: item.certificate,
    domains: certificate.domains,
    oldNotAfter,
    newNotAfter: certificate.notAfter,
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    verification: item.resume ? `${verification} (verified by a later run)` : verification,
    ...(item.renewalWindow ? { renewalWindow: item.renewalWindow } : {}),
  };
}

export function failedAlert(item: Pick<DueCertificate, 'cluster' | 'certificate'>, error: ErrorInfo): Alert {
  return {
    kind: 'renewal-failed',
    cluster: item.cluster,
    certificate: item.certificate,
    error,
    action: nextStep(error),
  };
}

/** A certificate over the run's order budget: deferred to the next run, not failed. */
export function deferredAlert(
  config: Pick<WatchdogConfig, 'acme' | 'clusters'>,
  item: DueCertificate,
): Alert {
  const lane = orderLane(config, item) ?? 'new';
  const budget = orderBudgetOf(config);
  return {
    kind: 'order-deferred',
    cluster: item.cluster,
    certificate: item.certificate,
    status: item.status,
    notAfter: item.currentNotAfter,
    lane,
    budget: (lane === 'new' ? budget.newOrders : budget.replacesOrders) ?? 0,
  };
}

/** What an operator should do about a failed renewal, by error name. */
export function nextStep(error: ErrorInfo): string {
  switch (error.name) {
    case 'NodesNotUpdatedError':
      return 'check the nodes named above (GET /v1/nodes, rladmin status); the certificate is saved and the next run pushes it again without a new order';
    case 'InvalidCertificateError':
    case 'ExpiredCertificateError':
    case 'UnknownCertificateError':
      return 'the cluster refused the certificate; it is kept in the state store and the next run pushes it again without a new order once the cause is fixed';
    case 'CertificateValidationError':
      return 'nothing was pushed; read the reason, fix the configuration or the CA, and run renew again';
    case 'VerificationError':
      return 'the cluster holds the new certificate; read the reason, and roll back with `rs-cert-watchdog rollback` if clients cannot connect';
    case 'RollbackRefusedError':
      return 'nothing was pushed: the cluster keeps its current certificate; install one by hand if it must change';
    case 'PushApiUnavailableError':
      return 'set the cluster\'s "pushApi" to "update_cert", or upgrade every node to RS 7.22.2 or later';
    case 'AcmeRateLimitedError':
      return 'wait until the time given; the schedule retries by itself';
    case 'AcmeValidationError':
    case 'DnsProviderError':
    case 'DnsZoneNotFoundError':
    case 'DnsHookError':
      return 'check the DNS provider settings and that the _acme-challenge record can be published';
    case 'DnsPropagationTimeoutError':
      return 'nothing was asked of the CA (no failed authorization); check why the record is slow to reach every server named, or raise dns.propagationTimeoutSeconds';
    case 'DnsTsigError':
    case 'DnsUpdateRefusedError':
      return "nothing was published and nothing pushed; fix the TSIG key or the server's update policy as the hint says, then run renew again";
    case 'DnsCnameLoopError':
    case 'DnsCnameChainTooLongError':
      return 'fix the _acme-challenge CNAME records named above (or set dns.followCnames to false)';
    case 'AuthenticationError':
      return "update the cluster's credentials";
    case 'BasicAuthDisabledError':
      return 'the cluster turned Basic authentication off: configure "clientCertificate" for it (certificate login)';
    case 'ClientCertificateRefusedError':
      return "the cluster refused the client certificate: check its CA against the cluster's mtls_trusted_ca and its subject against the certificate user; nothing was written";
    case 'CipherSuiteMismatchError':
      return 'set the certificate\'s "keyType" to one the cluster\'s cipher suites allow (or add suites for its key); the next run orders a new certificate';
    case 'DatabaseNotFoundError':
      return 'check the uid under "databases" against GET /v1/bdbs; the certificate is kept in the state store';
    case 'ClientCertificateStoreError':
      return 'the renewed client certificate is saved in the state store; make its file or secret writable, then run renew again';
    default:
      return 'read the error, fix the cause, and run renew again; a saved certificate is reused';
  }
}
