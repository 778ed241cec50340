/**
 * The watchdog's own client certificate (`client`, certificate login to the REST API, RS 7.8.4+;
 * the only way in once RS 8.2 turns Basic authentication off). With `clientCertificate.issuer` it
 * is renewed like any managed certificate: Issue orders one with the same subject (RS matches
 * certificate users by it) and the same names from the private CA, saved in the state store first.
 * Its "push" never touches the cluster's certificates:
 *
 *   validate       key, chain, validity, later expiry, same subject, clientAuth
 *   log in with it a new connection presenting only the new certificate (no Basic): the cluster must
 *                  accept it, or nothing is written and the current one stays
 *   keep, write    the current pair is kept for rollback, then the new one is written where the
 *                  current was read from (the files, atomically, the key 0600; or a new secret version)
 *
 * and Verify reads it back from there and logs in with it again. Every later connection presents it.
 */
import { X509Certificate } from 'node:crypto';
import {
  coversName,
  describeLeaf,
  EKU_CLIENT_AUTH,
  keyMatchesLeaf,
  parseCertificateChain,
  parsePrivateKey,
} from '../certificate';
import { CLIENT_CERTIFICATE } from '../certificate-kinds';
import type { ClusterConfig } from '../config/types';
import {
  CertificateValidationError,
  ClientCertificateRefusedError,
  ClientCertificateStoreError,
  ConfigError,
  StateStoreError,
  type ValidationFailure,
  VerificationError,
  WatchdogError,
} from '../errors';
import type { ClientCertificatePair, ClusterAccess } from '../ports';
import { openRsClient } from '../rs/client';
import { connectionFor } from '../rs/connection';
import type { StoredCertificate } from '../state';
import type { RenewalContext } from './context';
import { fingerprintOf } from './obtain';
import { asPrevious, type BatchPushResult, type PushInput, safeNotAfter } from './push';
import type { VerificationResult } from './verify';

/** The client pair the cluster's credentials hold now; a ConfigError when it logs in without one. */
export async function currentClientCertificate(
  ctx: Pick<RenewalContext, 'credentials'>,
  cluster: ClusterConfig,
): Promise<{ access: ClusterAccess; pair: ClientCertificatePair }> {
  const access = await ctx.credentials.resolve(cluster);
  if (!access.clientCertificate)
    throw new ConfigError(`cluster "${cluster.name}" has no clientCertificate to renew`);
  return { access, pair: access.clientCertificate };
}

/**
 * Logs in presenting `pair` only (no Authorization header) and reads the cluster's certificates:
 * the proof that RS accepts it. Returns the cluster's mtls_trusted_ca, if it answered one.
 */
async function logInWith(
  ctx: RenewalContext,
  cluster: ClusterConfig,
  access: ClusterAccess,
  pair: ClientCertificatePair,
): Promise<string | undefined> {
  const connection = connectionFor(
    cluster,
    { ...access, username: '', password: '', clientCertificate: pair },
    ctx.acmeTrustPem,
  );
  const client = openRsClient(ctx.connect, connection);
  try {
    return (await client.getCertificates()).certificate('mtls_trusted_ca');
  } finally {
    client.close();
  }
}

/** The Push of the client certificate: validate, log in with it, keep the current pair, write it. */
export async function pushClientCertificate(
  ctx: RenewalContext,
  cluster: ClusterConfig,
  input: PushInput,
): Promise<BatchPushResult & { target: string }> {
  const saved = await ctx.state.issued(input.cluster, CLIENT_CERTIFICATE);
  if (!saved)
    throw new StateStoreError(`no saved client certificate of cluster "${input.cluster}" to install`, {
      hint: 'the issue step did not complete; run the renewal again',
    });
  if (saved.rejected) {
    const [failure] = saved.rejected.split(':', 1) as [ValidationFailure];
    throw new CertificateValidationError(
      failure,
      `client: the saved certificate was refused before: ${saved.rejected}`,
      {
        hint: 'run renew again: a new certificate is ordered',
      },
    );
  }
  if (!ctx.credentials.writeClientCertificate)
    throw new ClientCertificateStoreError(
      `cluster "${input.cluster}": this deployment cannot write the client certificate back where it read it`,
      { hint: 'a deployment error: the credentials provider has no writer' },
    );
  const { access, pair: current } = await currentClientCertificate(ctx, cluster);
  const firstPush = fingerprintOf(current.certificatePem) !== saved.fingerprint256;
  const rollback = input.rollback === true || saved.rollback === true;
  let target = 'already in place';
  if (firstPush) {
    const next = { certificatePem: saved.certificatePem, keyPem: saved.keyPem };
    try {
      validateClientCertificate(ctx, saved, current, rollback);
    } catch (error) {
      if (error instanceof CertificateValidationError && !rollback)
        await ctx.state.saveIssued({ ...saved, rejected: `${error.failure}: ${error.message}` });
      throw error;
    }
    try {
      await logInWith(ctx, cluster, access, next);
    } catch (error) {
      if (!(error instanceof WatchdogError) || !/Authentication|ClientCertificate|BasicAuth/.test(error.name))
        throw error;
      throw new ClientCertificateRefusedError(
        `cluster "${input.cluster}" does not accept the ${rollback ? 'kept' : 'renewed'} client certificate (${error.name}: ${error.message}); nothing was written, the current one stays in use`,
        {
          hint: "its subject must be a certificate user's certificate_subject_line, and its CA in the cluster's mtls_trusted_ca",
        },
      );
    }
    await ctx.state.savePrevious(
      asPrevious(
        { cluster: input.cluster, certificate: CLIENT_CERTIFICATE },
        current.certificatePem,
        current.keyPem,
      ),
    );
    await ctx.state.markPending(input.cluster, CLIENT_CERTIFICATE, {
      fingerprint256: saved.fingerprint256,
      phase: 'pushing',
      at: ctx.now().toISOString(),
    });
    target = await ctx.credentials.writeClientCertificate(cluster, next);
    // From the next connection on: whatever this process opens next reads the new pair.
    ctx.credentials.forget?.(cluster);
  }
  const pushed = { ...saved, pushedAt: saved.pushedAt ?? ctx.now().toISOString() };
  await ctx.state.saveIssued(pushed);
  await ctx.state.markPending(input.cluster, CLIENT_CERTIFICATE, {
    fingerprint256: saved.fingerprint256,
    phase: 'pushed',
    at: pushed.pushedAt,
  });
  return {
    results: [
      {
        certificate: pushed,
        replacedNotAfter: safeNotAfter(current.certificatePem),
        replacedFingerprint256: fingerprintOf(current.certificatePem),
      },
    ],
    api: 'certificates',
    target,
  };
}

/**
 * Whether a client certificate may replace the current one, before any login: it parses and its
 * key belongs to it; its chain is in order; it is valid now; it covers the current one's names;
 * it expires later (not for a rollback, which puts back an earlier one); it keeps the subject (RS
 * matches certificate users by their certificate_subject_line) and the clientAuth usage. Whether
 * the cluster trusts its CA is what the login that follows proves.
 */
export function validateClientCertificate(
  ctx: Pick<RenewalContext, 'now'>,
  candidate: StoredCertificate,
  current: ClientCertificatePair,
  rollback: boolean,
): void {
  const refuse = (failure: ValidationFailure, message: string, hint = 'nothing was written'): never => {
    throw new CertificateValidationError(failure, `client: ${message}`, { hint });
  };
  let chain: X509Certificate[];
  try {
    chain = parseCertificateChain(candidate.certificatePem);
  } catch (error) {
    refuse('chain-incomplete', (error as Error).message);
    return;
  }
  const leaf = chain[0] as X509Certificate;
  let matches = false;
  try {
    matches = keyMatchesLeaf(leaf, parsePrivateKey(candidate.keyPem));
  } catch {
    matches = false;
  }
  if (!matches) refuse('key-mismatch', 'the private key does not belong to the certificate');
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey))
      refuse(
        'chain-incomplete',
        `chain certificate #${i + 2} did not issue #${i + 1}; the chain is out of order or mixed`,
      );
  }
  const details = describeLeaf(chain);
  const now = ctx.now();
  if (now < details.notBefore)
    refuse(
      'not-yet-valid',
      `not valid before ${details.notBefore.toISOString()}`,
      "check this machine's clock",
    );
  if (now >= details.notAfter) refuse('expired', `expired at ${details.notAfter.toISOString()}`);
  const was = describeLeaf(parseCertificateChain(current.certificatePem));
  const missing = was.dnsNames.filter((name) => !coversName(details.dnsNames, name));
  if (missing.length)
    refuse('domains-missing', `does not cover ${missing.join(', ')}, which the current one does`);
  if (!rollback && details.notAfter < was.notAfter)
    refuse(
      'not-later',
      `expires ${details.notAfter.toISOString()}, before the current one (${was.notAfter.toISOString()})`,
    );
  if (leaf.subject !== new X509Certificate(current.certificatePem).subject)
    refuse(
      'subject-changed',
      `the new certificate's subject (${details.subject}) is not the current one's (${was.subject})`,
      "RS matches certificate users by subject; nothing was written. Check the issuer's templates",
    );
  const ekus = details.extKeyUsage;
  if (ekus.length > 0 && !ekus.includes(EKU_CLIENT_AUTH) && !ekus.includes('2.5.29.37.0'))
    refuse(
      'usage-dropped',
      'the new certificate lacks the clientAuth usage',
      'nothing was written; use a CA (or template) that issues clientAuth certificates',
    );
}

/** Verify: where it was written holds the new certificate, and the cluster accepts it. */
export async function verifyClientCertificate(
  ctx: RenewalContext,
  cluster: ClusterConfig,
  certificate: StoredCertificate,
): Promise<VerificationResult> {
  ctx.credentials.forget?.(cluster);
  const { access, pair } = await currentClientCertificate(ctx, cluster);
  const held = fingerprintOf(pair.certificatePem);
  if (held !== certificate.fingerprint256)
    throw new VerificationError(
      `cluster "${cluster.name}": the client certificate read back is ${held ?? 'unreadable'}, not the new ${certificate.fingerprint256}`,
      { hint: 'run renew again: the saved certificate is written again' },
    );
  await logInWith(ctx, cluster, access, pair);
  await ctx.state.saveIssued({ ...certificate, verifiedAt: ctx.now().toISOString() });
  await ctx.state.clearPending(certificate.cluster, certificate.name);
  return {
    probes: [],
    summary: 'the new client certificate is in place and the cluster accepts it (certificate login)',
  };
}
