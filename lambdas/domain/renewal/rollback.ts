/**
 * Rollback: put back the certificate and key that the last renewal replaced (kept in state as
 * `previous` by the push step). It runs the renewal's steps: Issue takes the lock and checks what is
 * kept (`keptForRollback`); Push validates it against the cluster's trust and stages it
 * (`stageRollback`), then pushes it in one call; Verify, Active-Active and Notify follow as for a
 * renewal. The certificate it replaces is kept in turn.
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

/**
 * Issue's part of a rollback: the kept certificate exists with its key, parses and has not expired.
 * Nothing here needs the cluster (on AWS, Issue has neither its credentials nor its network): the
 * checks that need the cluster's own CA, and the staging, are Push's (`stageRollback`).
 */
export async function keptForRollback(ctx: RenewalContext, item: DueCertificate): Promise<StoredCertificate> {
  const kept = await ctx.state.previous(item.cluster, item.certificate);
  if (kindOf(item.certificate) === 'database' && kept) {
    refuseKeylessDatabaseRollback(item, kept);
    // The database had no certificate of its own before: the rollback removes ours (DELETE).
    if (isNoCertificate(kept)) return kept;
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
  return kept;
}

/**
 * Push's part of a rollback, before the push: the kept certificate that Issue checked is validated
 * as its clients will see it (key, chain anchored in the public roots, the ACME CA's or the
 * cluster's own CA, which the cluster's credentials secret may hold; for `api`, the name the watchdog
 * connects by), then staged as the certificate Push sends. A retried Push finds it staged already
 * (the kept slot then holds what the first attempt replaced): it is not staged twice.
 */
export async function stageRollback(
  ctx: RenewalContext,
  step: { cluster: string; certificate: string; fingerprint256: string },
): Promise<void> {
  const staged = await ctx.state.issued(step.cluster, step.certificate);
  if (staged?.rollback && staged.fingerprint256 === step.fingerprint256) return;
  const kept = await ctx.state.previous(step.cluster, step.certificate);
  const kind = kindOf(step.certificate);
  if (kind === 'database' && kept && kept.fingerprint256 === step.fingerprint256) {
    // What the database holds now was issued here (RS never returns a database's key: it is only in
    // the state store): kept in turn before the rollback takes its slot, so the rollback can be
    // undone and no key is lost.
    if (staged?.keyPem && staged.fingerprint256 !== kept.fingerprint256)
      await ctx.state.savePrevious({ ...staged, rollback: false });
    if (isNoCertificate(kept)) {
      await ctx.state.saveIssued({ ...kept, pushedAt: null, verifiedAt: null, rollback: true });
      return;
    }
  }
  if (!kept?.certificatePem || !kept.keyPem || kept.fingerprint256 !== step.fingerprint256) {
    throw new RollbackRefusedError(
      `cluster "${step.cluster}": the kept ${step.certificate} certificate changed since this rollback started`,
      {
        hint: 'nothing was pushed; another run replaced it in the meantime: check the cluster, then roll back again',
      },
    );
  }
  const cluster = clusterByName(ctx.config, step.cluster);
  // The client certificate's trust is the cluster's mtls_trusted_ca: its Push logs in with it first.
  if (kind !== 'client') {
    const trust = await clientTrust(ctx, step, true);
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
}
