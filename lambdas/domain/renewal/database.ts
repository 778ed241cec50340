/**
 * Per-database certificates (RS 8.x, `bdb:<uid>`): the Push and Verify of a database's own proxy
 * certificate. Each database is its own batch (its own Map iteration on AWS): one order, then
 *
 *   GET /v1/bdbs/{uid}/certificates  what it holds now (404: none of its own)
 *   validate                          as any push (validate.ts), against what it replaces
 *   POST …/certificates?dry_run=true  the cluster validates it and saves nothing
 *   POST …/certificates               saved
 *
 * RS never returns a database certificate's private key, so what a push replaces is kept for
 * rollback with its key only when this watchdog issued it (the Issue step keeps it before saving a
 * new one); a database that had no certificate of its own is kept as "none", and rolling back to it
 * is DELETE /v1/bdbs/{uid}/certificates (back to the cluster's default certificate). No 409 is
 * documented for these routes: every refusal fails at once, and the certificate stays saved for the
 * next run to push without a new order.
 */
import { databaseUid } from '../certificate-kinds';
import {
  BadResponseError,
  CertificateValidationError,
  RollbackRefusedError,
  StateStoreError,
  type ValidationFailure,
  VerificationError,
} from '../errors';
import type { RsClient } from '../rs/client';
import type { StoredCertificate } from '../state';
import { validateForPush } from '../validate';
import { clusterByName, type RenewalContext, renewalSettings } from './context';
import { fingerprintOf } from './obtain';
import {
  asPrevious,
  type BatchPushResult,
  clientTrust,
  type PushInput,
  safeNotAfter,
  validateRollback,
} from './push';
import { probeServed, type VerificationResult } from './verify';

/** A kept "previous" that says the database had no certificate of its own (rollback: DELETE). */
export function isNoCertificate(kept: Pick<StoredCertificate, 'certificatePem'>): boolean {
  return kept.certificatePem === '';
}

function uidOf(name: string): string {
  const uid = databaseUid(name);
  if (uid === null) throw new StateStoreError(`"${name}" is not a database certificate name`);
  return uid;
}

/** The Push step of one database: validate, keep what it replaces, POST with ?dry_run, then POST. */
export async function pushDatabaseCertificate(
  ctx: RenewalContext,
  client: RsClient,
  input: PushInput,
): Promise<BatchPushResult> {
  const cluster = clusterByName(ctx.config, input.cluster);
  const uid = uidOf(input.certificate);
  const saved = await ctx.state.issued(input.cluster, input.certificate);
  if (!saved)
    throw new StateStoreError(
      `no saved certificate for ${input.certificate} on cluster "${input.cluster}" to push`,
      {
        hint: 'the issue step did not complete; run the renewal again',
      },
    );
  if (saved.rejected) {
    const [failure] = saved.rejected.split(':', 1) as [ValidationFailure];
    throw new CertificateValidationError(
      failure,
      `${input.certificate}: the saved certificate was refused before: ${saved.rejected}`,
      { hint: 'run renew again: a new certificate is ordered' },
    );
  }
  const rollback = input.rollback === true || saved.rollback === true;

  const current = await client.getDatabaseCertificate(uid);
  if (current && current.certificatePem === undefined)
    throw new BadResponseError(
      `cluster "${input.cluster}": database ${uid}'s certificate is not a PEM string; the watchdog will not replace a certificate it cannot read`,
      { hint: 'check the database with GET /v1/bdbs/{uid}/certificates; nothing was pushed' },
    );
  const currentPem = current?.certificatePem ?? null;
  const currentFingerprint = fingerprintOf(currentPem ?? undefined);
  // A retry, or a run resuming a crash, may find ours already saved by the cluster: nothing to send.
  const wanted = rollback && isNoCertificate(saved) ? null : saved.fingerprint256;
  const firstPush = currentFingerprint !== wanted;
  const kept = await ctx.state.previous(input.cluster, input.certificate);
  const replacedPem = firstPush ? currentPem : kept?.certificatePem || null;

  if (rollback) {
    if (!isNoCertificate(saved)) validateRollback(ctx, cluster, saved, await clientTrust(ctx, input, true));
  } else {
    try {
      validateForPush(
        {
          name: input.certificate,
          certificatePem: saved.certificatePem,
          keyPem: saved.keyPem,
          domains: renewalSettings(cluster, input.certificate).domains,
        },
        replacedPem === null ? null : { certificatePem: replacedPem },
        { now: ctx.now(), trustPems: [...(await clientTrust(ctx, input)), ...ctx.publicRootPems] },
      );
    } catch (error) {
      if (error instanceof CertificateValidationError)
        await ctx.state.saveIssued({ ...saved, rejected: `${error.failure}: ${error.message}` });
      throw error;
    }
  }

  if (firstPush) {
    // What the database holds goes to `previous` for rollback: with its key when this watchdog
    // issued it (kept by Issue), keyless when not (RS never returns it), or "none".
    if (currentPem === null)
      await ctx.state.savePrevious({ ...asPrevious(input, '', ''), certificatePem: '', keyPem: '' });
    else if (!(kept?.fingerprint256 === currentFingerprint && kept.keyPem))
      await ctx.state.savePrevious(asPrevious(input, currentPem, ''));
    await ctx.state.markPending(input.cluster, input.certificate, {
      fingerprint256: saved.fingerprint256,
      phase: 'pushing',
      at: ctx.now().toISOString(),
    });
    if (wanted === null) {
      await client.deleteDatabaseCertificate(uid);
    } else {
      const pair = { certificate: saved.certificatePem, key: saved.keyPem };
      await client.uploadDatabaseCertificate(uid, pair, { dryRun: true });
      await client.uploadDatabaseCertificate(uid, pair, { dryRun: false });
    }
  }
  const pushed = { ...saved, pushedAt: saved.pushedAt ?? ctx.now().toISOString() };
  await ctx.state.saveIssued(pushed);
  await ctx.state.markPending(input.cluster, input.certificate, {
    fingerprint256: saved.fingerprint256,
    phase: 'pushed',
    at: pushed.pushedAt,
  });
  return {
    results: [
      {
        certificate: pushed,
        replacedNotAfter: replacedPem ? safeNotAfter(replacedPem) : null,
        replacedFingerprint256: replacedPem ? fingerprintOf(replacedPem) : null,
      },
    ],
    api: 'certificates',
  };
}

/**
 * The Verify step of one database: GET /v1/bdbs/{uid}/certificates holds the new certificate, and
 * its endpoints serve it: those configured under the cluster's `probe["bdb:<uid>"]` and those GET
 * /v1/bdbs/{uid} lists (when its TLS is not disabled).
 */
export async function verifyDatabaseCertificate(
  ctx: RenewalContext,
  client: RsClient,
  certificate: StoredCertificate,
): Promise<VerificationResult> {
  const cluster = clusterByName(ctx.config, certificate.cluster);
  const uid = uidOf(certificate.name);
  const held = await client.getDatabaseCertificate(uid);
  if (certificate.rollback && isNoCertificate(certificate)) {
    if (held)
      throw new VerificationError(
        `cluster "${certificate.cluster}": database ${uid} still has a certificate of its own after DELETE`,
        { hint: 'check the database with GET /v1/bdbs/{uid}/certificates' },
      );
    await ctx.state.saveIssued({ ...certificate, verifiedAt: ctx.now().toISOString() });
    await ctx.state.clearPending(certificate.cluster, certificate.name);
    return {
      probes: [],
      summary: "the database has no certificate of its own again (it is served the cluster's default)",
    };
  }
  const heldFingerprint = fingerprintOf(held?.certificatePem);
  if (heldFingerprint !== certificate.fingerprint256)
    throw new VerificationError(
      `cluster "${certificate.cluster}" answered 200 but database ${uid} holds ${heldFingerprint ?? 'no readable'} certificate instead of ${certificate.fingerprint256}`,
      { hint: 'run renew again: the saved certificate is pushed again' },
    );
  const endpoints = new Set(cluster.probe[certificate.name] ?? []);
  const database = await client.getDatabase(uid).catch(() => null);
  if (database && database.tlsMode !== 'disabled')
    for (const endpoint of database.endpoints) {
      const host = endpoint.addresses[0] ?? endpoint.dnsAddress;
      if (host) endpoints.add(`${host.includes(':') ? `[${host}]` : host}:${endpoint.port}`);
    }
  const { probes, unreachable } = await probeServed(ctx, certificate, endpoints);
  await ctx.state.saveIssued({ ...certificate, verifiedAt: ctx.now().toISOString() });
  await ctx.state.clearPending(certificate.cluster, certificate.name);
  const served = probes.length - unreachable.length;
  return {
    probes,
    summary:
      `database ${uid} holds the new certificate` +
      (probes.length ? `; ${served} of ${probes.length} endpoint(s) serve it` : '') +
      (unreachable.length
        ? `; unreachable: ${unreachable.map((p) => `${p.endpoint} (${p.error})`).join(', ')}`
        : ''),
  };
}

/**
 * The rollback's Issue for a database: the kept certificate goes back when its key is kept (this
 * watchdog issued it); "none" goes back as DELETE; a certificate RS never gave the key of cannot.
 */
export function refuseKeylessDatabaseRollback(
  item: { cluster: string; certificate: string },
  kept: StoredCertificate,
): void {
  if (isNoCertificate(kept) || kept.keyPem) return;
  throw new RollbackRefusedError(
    `cluster "${item.cluster}": the ${item.certificate} certificate the last renewal replaced was not issued by this watchdog, and RS never returns a database certificate's key: it cannot be put back`,
    {
      hint: `nothing was pushed; DELETE /v1/bdbs/${databaseUid(item.certificate)}/certificates returns the database to the cluster's default certificate`,
    },
  );
}
