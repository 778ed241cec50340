/**
 * Step 1 of a renewal: get a certificate to push. A saved certificate that still fits is reused;
 * otherwise a new one is ordered and SAVED before anything else happens, so a crash or a retry
 * after this point never orders twice.
 */
import { describeLeaf, parseCertificateChain } from '../certificate';
import type { KeyType } from '../config';
import { StateLockedError } from '../errors';
import { decideRenewal } from '../policy';
import type { StoredCertificate } from '../state';
import { clusterByName, type DueCertificate, managedCertificate, type RenewalContext } from './context';

export interface CertificateIssuer {
  issue(domains: string[], keyType: KeyType): Promise<{ certificatePem: string; keyPem: string }>;
}

export interface ObtainResult {
  certificate: StoredCertificate;
  /** True when a saved certificate was reused: no ACME order was placed. */
  reused: boolean;
}

export async function obtainCertificate(
  ctx: RenewalContext,
  due: DueCertificate,
  issuer: () => CertificateIssuer,
  options: { lockTtlMs?: number; lockWaitMs?: number } = {},
): Promise<ObtainResult> {
  const cluster = clusterByName(ctx.config, due.cluster);
  const managed = managedCertificate(cluster, due.certificate);
  const keyType = managed.keyType ?? ctx.config.acme?.keyType ?? 'rsa-2048';

  const lock = await lockWithWait(ctx, due, options.lockTtlMs ?? 15 * 60_000, options.lockWaitMs ?? 30_000);
  try {
    const saved = await ctx.state.issued(due.cluster, due.certificate);
    if (saved && reusable(ctx, saved, managed.domains, keyType, due))
      return { certificate: saved, reused: true };

    const pair = await issuer().issue(managed.domains, keyType);
    const details = describeLeaf(parseCertificateChain(pair.certificatePem));
    const certificate: StoredCertificate = {
      cluster: due.cluster,
      name: due.certificate,
      domains: managed.domains,
      keyType,
      certificatePem: pair.certificatePem,
      keyPem: pair.keyPem,
      notAfter: details.notAfter.toISOString(),
      serialNumber: details.serialNumber,
      fingerprint256: details.fingerprint256,
      issuedAt: ctx.now().toISOString(),
      pushedAt: null,
    };
    await ctx.state.saveIssued(certificate);
    return { certificate, reused: false };
  } finally {
    await ctx.state.unlock(lock).catch(() => undefined);
  }
}

/**
 * A saved certificate is pushed instead of ordering when it was issued for the same names and key
 * type, is not itself due, is not what the cluster already has, is newer than what it has, and was
 * not refused by validation.
 */
function reusable(
  ctx: RenewalContext,
  saved: StoredCertificate,
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

async function lockWithWait(ctx: RenewalContext, due: DueCertificate, ttlMs: number, waitMs: number) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await ctx.state.lock(due.cluster, due.certificate, ttlMs, ctx.now());
    } catch (error) {
      if (!(error instanceof StateLockedError) || Date.now() >= deadline) throw error;
      await ctx.sleep(Math.min(1_000, Math.max(0, deadline - Date.now())));
    }
  }
}
