/**
 * Rollback: put back the certificate and key that the last renewal replaced (kept in state as
 * `previous` by the push step). It is the Issue step of a rollback: what follows is the same Push,
 * Verify, Active-Active and Notify as a renewal, so the previous certificate is validated, pushed in
 * one call, verified and alerted on like any other. The certificate it replaces is kept in turn.
 *
 * Refused, before anything is pushed, when nothing is kept, or the kept certificate has expired or
 * does not validate.
 */
import { parseCertificateChain } from '../certificate';
import { kindOf } from '../certificate-kinds';
import { ConfigError, RollbackRefusedError } from '../errors';
import type { StoredCertificate } from '../state';
import { clusterByName, type DueCertificate, type RenewalContext } from './context';
import { isNoCertificate, refuseKeylessDatabaseRollback } from './database';
import { clientTrust, rollbackWithPeers, validateRollback } from './push';

export interface RollbackRequest {
  cluster: string;
  certificate: string;
}

/** The due items of a rollback request (the execution input `{"rollback": [...]}` or the CLI). */
export function rollbackItems(
  ctx: Pick<RenewalContext, 'config'>,
  requests: readonly RollbackRequest[],
): DueCertificate[] {
  if (requests.length === 0) throw new ConfigError('rollback: name at least one cluster and certificate');
  return requests.map((r) => {
    if (typeof r?.cluster !== 'string' || typeof r?.certificate !== 'string')
      throw new ConfigError('rollback: each entry is {"cluster": "C", "certificate": "NAME"}');
    clusterByName(ctx.config, r.cluster);
    return {
      cluster: r.cluster,
      certificate: r.certificate,
      status: 'rollback',
      forced: true,
      currentNotAfter: null,
      currentFingerprint256: null,
      rollback: true,
    };
  });
}

/** Checks the kept certificate, then makes it the one the Push step sends. Returns it. */
export async function prepareRollback(ctx: RenewalContext, item: DueCertificate): Promise<StoredCertificate> {
  const cluster = clusterByName(ctx.config, item.cluster);
  const kept = await ctx.state.previous(item.cluster, item.certificate);
  const kind = kindOf(item.certificate);
  if (kind === 'database' && kept) {
    refuseKeylessDatabaseRollback(item, kept);
    // What the database holds now was issued here (its key is only in the state store): kept in
    // turn before the rollback takes its slot, so the rollback can be undone and no key is lost.
    const replaced = await ctx.state.issued(item.cluster, item.certificate);
    if (replaced?.keyPem && replaced.fingerprint256 !== kept.fingerprint256)
      await ctx.state.savePrevious({ ...replaced, rollback: false });
    if (isNoCertificate(kept)) {
      await ctx.state.saveIssued({ ...kept, pushedAt: null, verifiedAt: null, rollback: true });
      return kept;
    }
  }
  if (!kept?.certificatePem || !kept.keyPem) {
    throw new RollbackRefusedError(
      `cluster "${item.cluster}": nothing is kept for ${item.certificate}: no renewal by this watchdog has replaced it`,
      { hint: 'nothing was pushed; a certificate is kept when a renewal replaces it' },
    );
  }
  let notAfter: Date;
  try {
    notAfter = new Date(parseCertificateChain(kept.certificatePem)[0]?.validTo ?? '');
  } catch (error) {
    throw new RollbackRefusedError(
      `cluster "${item.cluster}": the kept ${item.certificate} certificate does not parse: ${(error as Error).message}`,
      { hint: 'nothing was pushed' },
    );
  }
  if (!(notAfter > ctx.now())) {
    throw new RollbackRefusedError(
      `cluster "${item.cluster}": the kept ${item.certificate} certificate expired at ${notAfter.toISOString()}; pushing it would break every client`,
      { hint: 'nothing was pushed; renew instead (rs-cert-watchdog renew --force)' },
    );
  }
  // The client certificate's trust is the cluster's mtls_trusted_ca: its Push logs in with it first.
  if (kind !== 'client') {
    const trust = await clientTrust(ctx, item, true);
    validateRollback(ctx, cluster, kept, trust);
    await rollbackWithPeers(ctx, cluster, kept, trust);
  }
  await ctx.state.saveIssued({
    ...kept,
    pushedAt: null,
    verifiedAt: null,
    rollback: true,
    issuedAt: kept.issuedAt || ctx.now().toISOString(),
  });
  return kept;
}
