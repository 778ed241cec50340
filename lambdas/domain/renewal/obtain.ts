/**
 * The Issue step's decision: which certificate to push. A saved certificate that still fits is
 * reused; otherwise a new one is ordered and SAVED before anything else happens, so a crash or a
 * retry after this point never orders twice. The caller holds the certificate's lock.
 */
import { describeLeaf, parseCertificateChain } from '../certificate';
import { CLIENT_CERTIFICATE, kindOf } from '../certificate-kinds';
import type { KeyType } from '../config/types';
import { AlreadyRenewedError, ConfigError, OrderDeferredError } from '../errors';
import { decideRenewal } from '../policy';
import type { CertificateRecord, StoredCertificate } from '../state';
import { clusterByName, type DueCertificate, type RenewalContext, renewalSettings } from './context';
import { orderBudgetOf, orderLane } from './order-budget';
import { issuerTypeOf } from './renewal-info';

export interface ObtainResult {
  /** The certificate to push (its key stays in the state: Push reads it). */
  certificate: CertificateRecord;
  /** True when a saved certificate was reused: no ACME order was placed. */
  reused: boolean;
}

export async function obtainCertificate(ctx: RenewalContext, due: DueCertificate): Promise<ObtainResult> {
  const cluster = clusterByName(ctx.config, due.cluster);
  const configured = renewalSettings(cluster, due.certificate);
  // The client certificate is renewed with the subject, names and key type of the current one.
  const same = due.certificate === CLIENT_CERTIFICATE ? sameAs(due) : undefined;
  const settings = same ? { ...configured, domains: same.domains } : configured;
  const keyType = settings.keyType ?? same?.keyType ?? ctx.config.acme?.keyType ?? 'rsa-2048';
  const saved = await ctx.state.issuedRecord(due.cluster, due.certificate);

  if (due.resume && saved && !saved.rejected && saved.fingerprint256 === due.currentFingerprint256)
    return { certificate: saved, reused: true };

  // Another run may have finished this renewal between our check and taking the lock: it verified
  // the saved certificate on the cluster AFTER our check read another one there. The times tell,
  // without reading the cluster again (Issue may not: on AWS it has neither the cluster's credentials
  // nor its network). Verified BEFORE our check, yet the cluster served another: that one was put
  // there since (by hand, a rollback), and this run renews, reusing the saved certificate if it fits.
  if (
    saved?.verifiedAt &&
    !due.forced &&
    saved.fingerprint256 !== due.currentFingerprint256 &&
    due.checkedAt !== undefined &&
    Date.parse(saved.verifiedAt) > Date.parse(due.checkedAt)
  ) {
    throw new AlreadyRenewedError(
      `${due.certificate} on cluster "${due.cluster}" was renewed by another run since this run's check (serial ${saved.serialNumber}, verified ${saved.verifiedAt}, after the check at ${due.checkedAt})`,
      { hint: 'nothing to do: that run pushed, verified and reported it' },
    );
  }

  if (saved && reusable(ctx, saved, settings.domains, keyType, due))
    return { certificate: saved, reused: true };

  // Over the run's order budget: a reuse was allowed above, an order is not.
  if (due.deferOrder) throw orderDeferred(ctx, due);
  const acme = issuerTypeOf(settings) === 'acme';
  const profile = acme ? (settings.profile ?? ctx.config.acme?.profile) : undefined;
  const pair = await ctx.issuer(settings).issue(settings.domains, keyType, {
    ...(profile ? { profile } : {}),
    // `replaces` only for a renewal of the certificate the cluster holds, which the CA answered ARI
    // for, and never with acme.ari false.
    ...(acme && due.ariCertId && ctx.config.acme?.ari !== false ? { replaces: due.ariCertId } : {}),
    scope: { cluster: due.cluster, certificate: due.certificate },
    ...(same ? { sameSubjectAs: same.pem } : {}),
  });
  const details = describeLeaf(parseCertificateChain(pair.certificatePem));
  const certificate: StoredCertificate = {
    cluster: due.cluster,
    name: due.certificate,
    domains: settings.domains,
    keyType,
    certificatePem: pair.certificatePem,
    keyPem: pair.keyPem,
    notAfter: details.notAfter.toISOString(),
    serialNumber: details.serialNumber,
    fingerprint256: details.fingerprint256,
    issuedAt: ctx.now().toISOString(),
    pushedAt: null,
  };
  // RS never returns a database certificate's key: the one this watchdog issued and the database
  // holds is kept (with its key) for rollback before the new one takes its place.
  if (
    kindOf(due.certificate) === 'database' &&
    saved &&
    !saved.rejected &&
    saved.fingerprint256 === due.currentFingerprint256
  ) {
    const held = await ctx.state.issued(due.cluster, due.certificate);
    if (held?.fingerprint256 === saved.fingerprint256) await ctx.state.savePrevious(held);
  }
  await ctx.state.saveIssued(certificate);
  return { certificate, reused: false };
}

/** The names, key type and PEM of the client certificate a renewal copies (DueCertificate.sameSubjectAs). */
function sameAs(due: DueCertificate): { pem: string; domains: string[]; keyType: KeyType } {
  if (!due.sameSubjectAs)
    throw new ConfigError(
      `cluster "${due.cluster}": the current client certificate was not handed to the renewal (run renew again)`,
    );
  const details = describeLeaf(parseCertificateChain(due.sameSubjectAs));
  return {
    pem: due.sameSubjectAs,
    domains: details.dnsNames,
    keyType: details.keyType.startsWith('ecdsa') ? 'ecdsa-p256' : 'rsa-2048',
  };
}

/**
 * Whether Issue would push a saved certificate instead of ordering (the reuse and resume paths):
 * read before an item over the order budget takes its lock, so a deferral costs one read.
 */
export async function savedCertificateFits(ctx: RenewalContext, due: DueCertificate): Promise<boolean> {
  const settings = renewalSettings(clusterByName(ctx.config, due.cluster), due.certificate);
  const keyType = settings.keyType ?? ctx.config.acme?.keyType ?? 'rsa-2048';
  const saved = await ctx.state.issued(due.cluster, due.certificate);
  if (!saved) return false;
  if (due.resume && !saved.rejected && saved.fingerprint256 === due.currentFingerprint256) return true;
  return reusable(ctx, saved, settings.domains, keyType, due);
}

/** The deferral of an item over the run's order budget, in the operator's words. */
export function orderDeferred(ctx: Pick<RenewalContext, 'config'>, due: DueCertificate): OrderDeferredError {
  const budget = orderBudgetOf(ctx.config);
  const replaces = orderLane(ctx.config, due) === 'replaces';
  const setting = replaces
    ? `acme.replacesOrderBudget: ${budget.replacesOrders} ARI renewals`
    : `acme.orderBudget: ${budget.newOrders} new orders`;
  return new OrderDeferredError(
    `${due.certificate} on cluster "${due.cluster}" was not ordered in this run: the run's order budget (${setting}) went to certificates closer to expiry`,
    {
      hint: "nothing to do if the next runs have budget left: they order it, most urgent first; raise the budget only within the CA's rate limits (Let's Encrypt: 300 new orders per 3 hours)",
    },
  );
}

/**
 * A saved certificate is pushed instead of ordering when it was issued for the same names and key
 * type, is not itself due, is not what the cluster already has, is newer than what it has, and was
 * not refused by validation.
 */
function reusable(
  ctx: RenewalContext,
  saved: CertificateRecord,
  domains: string[],
  keyType: KeyType,
  due: DueCertificate,
): boolean {
  if (saved.rejected) return false;
  const sameNames = [...saved.domains].sort().join(',') === [...domains].sort().join(',');
  if (!sameNames || saved.keyType !== keyType) return false;
  if (saved.fingerprint256 === due.currentFingerprint256) return false;
  if (due.currentNotAfter && new Date(saved.notAfter) <= new Date(due.currentNotAfter)) return false;
  const details = describeLeaf(parseCertificateChain(saved.certificatePem));
  return decideRenewal(details, ctx.now(), ctx.config.renewBeforeDays).status === 'ok';
}

/** The leaf fingerprint of a PEM, or null when absent or unreadable. */
export function fingerprintOf(pem: string | undefined): string | null {
  if (pem === undefined) return null;
  try {
    return parseCertificateChain(pem)[0]?.fingerprint256 ?? null;
  } catch {
    return null;
  }
}
