/**
 * `renew`: check every cluster, then for each certificate that is due: renew it through ACME when
 * it is configured for that, alert otherwise. Every certificate of every cluster succeeds or fails
 * on its own; certificates of one cluster go one at a time (update_cert is cluster-wide).
 */
import { reportFor } from '../check';
import { mapWithConcurrency } from '../concurrency';
import { ConfigError, type ErrorInfo, toErrorInfo } from '../errors';
import type { Alert } from '../ports';
import type { CertificateReport, ClusterReport, FleetReport } from '../report';
import type { PushRetryPolicy } from '../retry-policy';
import type { StoredCertificate } from '../state';
import { clusterByName, type DueCertificate, openCluster, type RenewalContext } from './context';
import { type CertificateIssuer, obtainCertificate } from './obtain';
import { alertOnly, dueCertificate, isForced, planFor } from './plan';
import { pushWithRetries } from './push';
import { verifyPushed } from './verify';

export interface RenewOptions {
  dryRun: boolean;
  /** `NAME` (every cluster that manages it) or `CLUSTER/NAME`. */
  force: string[];
  pushRetry: PushRetryPolicy;
  issuer: () => CertificateIssuer;
}

export interface RenewReport extends FleetReport {
  dryRun: boolean;
  alerts: Alert[];
}

export function validateForce(ctx: RenewalContext, force: string[]): void {
  for (const entry of force) {
    const [clusterName, name] = entry.includes('/') ? entry.split('/', 2) : [undefined, entry];
    const clusters = clusterName ? [clusterByName(ctx.config, clusterName)] : ctx.config.clusters;
    if (!clusters.some((c) => name !== undefined && Object.hasOwn(c.certificates, name))) {
      throw new ConfigError(
        `--force ${entry}: no cluster${clusterName ? ` "${clusterName}"` : ''} lists "${name}" under "certificates", so it cannot be renewed through ACME`,
      );
    }
  }
}

export async function renewFleet(ctx: RenewalContext, options: RenewOptions): Promise<RenewReport> {
  validateForce(ctx, options.force);
  const alerts: Alert[] = [];
  const alert = async (a: Alert) => {
    alerts.push(a);
    if (!options.dryRun) await ctx.notifier.send(a);
  };
  const clusters = await mapWithConcurrency(ctx.config.clusters, ctx.config.concurrency, (cluster) =>
    renewCluster(ctx, cluster.name, options, alert),
  );
  return { generatedAt: ctx.now().toISOString(), dryRun: options.dryRun, clusters, alerts };
}

async function renewCluster(
  ctx: RenewalContext,
  name: string,
  options: RenewOptions,
  alert: (a: Alert) => Promise<void>,
): Promise<ClusterReport> {
  const cluster = clusterByName(ctx.config, name);
  let client: Awaited<ReturnType<typeof openCluster>> | undefined;
  let report: ClusterReport;
  try {
    client = await openCluster(ctx, cluster);
    report = reportFor(ctx.config, cluster, await client.getCertificates(), ctx.now());
  } catch (error) {
    client?.close();
    const info = toErrorInfo(error);
    await alert({ kind: 'cluster-unreachable', cluster: name, error: info });
    return { name, error: info, certificates: [] };
  }
  try {
    for (const cert of report.certificates) {
      const forced = isForced(options.force, name, cert.name);
      const plan = planFor(cert, forced);
      cert.plan = plan;
      if (plan === 'alert-only') {
        cert.action = 'alert-only';
        await alert(alertOnly(name, cert));
      }
      if (plan === 'renew' && !options.dryRun) {
        await renewOne(ctx, client, cert, dueCertificate(name, cert, forced), options, alert);
      }
      if (plan === 'none' && cert.managed && !options.dryRun)
        await resumeUnverified(ctx, client, name, cert, alert);
    }
  } finally {
    client.close();
  }
  return report;
}

async function renewOne(
  ctx: RenewalContext,
  client: Awaited<ReturnType<typeof openCluster>>,
  cert: CertificateReport,
  due: DueCertificate,
  options: RenewOptions,
  alert: (a: Alert) => Promise<void>,
): Promise<void> {
  await reportOutcome(cert, due.cluster, alert, async () => {
    await obtainCertificate(ctx, due, options.issuer);
    const pushed = await pushWithRetries(ctx, client, due, options.pushRetry);
    const verification = await verifyPushed(ctx, client, pushed.certificate);
    return {
      certificate: pushed.certificate,
      oldNotAfter: pushed.replacedNotAfter ?? cert.notAfter,
      verification: verification.summary,
    };
  });
}

/**
 * A run that crashed after the cluster accepted a certificate but before verifying it leaves a
 * pushed, unverified certificate that is now `ok` on the cluster: finish its verification and send
 * the alert it never sent.
 */
async function resumeUnverified(
  ctx: RenewalContext,
  client: Awaited<ReturnType<typeof openCluster>>,
  cluster: string,
  cert: CertificateReport,
  alert: (a: Alert) => Promise<void>,
): Promise<void> {
  const saved = await ctx.state.issued(cluster, cert.name);
  // The cluster holding our saved certificate proves the push went through, even if the run died
  // before it could record pushedAt.
  if (!saved || saved.verifiedAt || saved.rejected || saved.fingerprint256 !== cert.fingerprint256) return;
  await reportOutcome(cert, cluster, alert, async () => {
    if (!saved.pushedAt) await ctx.state.saveIssued({ ...saved, pushedAt: ctx.now().toISOString() });
    const verification = await verifyPushed(ctx, client, saved);
    const previous = await ctx.state.previous(cluster, cert.name);
    return {
      certificate: saved,
      oldNotAfter: previous?.notAfter || null,
      verification: `${verification.summary} (verified by a later run)`,
    };
  });
}

/** Runs a renewal, then records its outcome on the report and sends the matching alert. */
async function reportOutcome(
  cert: CertificateReport,
  cluster: string,
  alert: (a: Alert) => Promise<void>,
  renew: () => Promise<{ certificate: StoredCertificate; oldNotAfter: string | null; verification: string }>,
): Promise<void> {
  try {
    const { certificate, oldNotAfter, verification } = await renew();
    cert.action = 'renewed';
    cert.renewed = {
      notAfter: certificate.notAfter,
      serialNumber: certificate.serialNumber,
      fingerprint256: certificate.fingerprint256,
    };
    await alert({
      kind: 'renewed',
      cluster,
      certificate: cert.name,
      domains: certificate.domains,
      oldNotAfter,
      newNotAfter: certificate.notAfter,
      serialNumber: certificate.serialNumber,
      fingerprint256: certificate.fingerprint256,
      verification,
    });
  } catch (error) {
    const info = toErrorInfo(error);
    cert.action = 'failed';
    cert.error = info;
    await alert({
      kind: 'renewal-failed',
      cluster,
      certificate: cert.name,
      error: info,
      action: nextStep(info),
    });
  }
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
    case 'AcmeRateLimitedError':
      return 'wait until the time given; the schedule retries by itself';
    case 'AcmeValidationError':
    case 'DnsProviderError':
      return 'check the DNS provider settings and that the _acme-challenge record can be published';
    case 'AuthenticationError':
      return "update the cluster's credentials";
    case 'StateLockedError':
      return 'another run is renewing this certificate; nothing to do unless this repeats';
    default:
      return 'read the error, fix the cause, and run renew again; a saved certificate is reused';
  }
}
