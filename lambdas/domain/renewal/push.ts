/**
 * The Push step: validate the saved certificates against what the cluster holds, keep the cluster's
 * current certificates as `previous` (rollback), and PUT them in one call. One attempt: a 409
 * surfaces as NodesNotUpdatedError for the runner's Retry (the CLI's local runner or Step
 * Functions), which pushes the same saved set again.
 */

import { describeLeaf, parseCertificateChain } from '../certificate';
import { managedSettings } from '../certificate-kinds';
import type { ClusterConfig } from '../config/types';
import {
  BadResponseError,
  CertificateValidationError,
  NodesNotUpdatedError,
  PushApiUnavailableError,
  RollbackRefusedError,
  StateStoreError,
  UnknownCertificateError,
  type ValidationFailure,
} from '../errors';
import type { ProbeResult } from '../ports';
import { VERIFY_PROBE } from '../retry';
import type { ClusterCertificateSet, RsClient } from '../rs/client';
import { connectName } from '../rs/connection';
import type { StoredCertificate } from '../state';
import { tlsRoles, validateForPush } from '../validate';
import { clusterByName, type DueCertificate, type RenewalContext, renewalSettings } from './context';
import { fingerprintOf } from './obtain';

export interface PushResult {
  certificate: StoredCertificate;
  /** notAfter of the certificate this one replaced. */
  replacedNotAfter: string | null;
  /** Fingerprint of the certificate this one replaced. */
  replacedFingerprint256: string | null;
}

export interface PushInput extends Pick<DueCertificate, 'cluster' | 'certificate' | 'resume' | 'rollback'> {}

export interface BatchPushResult {
  results: PushResult[];
  /** The API the certificates went through. */
  api: PushApi;
  /** Set when the bulk API answered 404/405 and update_cert was used instead: says so. */
  fellBack?: string;
}

/**
 * The Push step for every certificate due on one cluster in this run: validate each against what
 * the cluster holds, keep what it replaces (rollback), then send them all in ONE call of PUT
 * /v1/cluster/certificates (RS 7.22.2+), or one update_cert each on an older cluster. One attempt:
 * a 409 surfaces as NodesNotUpdatedError for the runner's Retry, which pushes the same set again. A
 * 404/405 from the bulk API falls back once to update_cert within this attempt.
 */
export async function pushSavedCertificates(
  ctx: RenewalContext,
  client: RsClient,
  inputs: readonly PushInput[],
): Promise<BatchPushResult> {
  const cluster = clusterByName(ctx.config, inputs[0]?.cluster ?? '');
  const set = await client.getCertificates();
  const prepared: PreparedPush[] = [];
  for (const input of inputs) prepared.push(await preparePush(ctx, set, input));

  const toSend = prepared.filter((p) => p.send);
  for (const p of toSend)
    await ctx.state.markPending(p.input.cluster, p.input.certificate, {
      fingerprint256: p.saved.fingerprint256,
      phase: 'pushing',
      at: ctx.now().toISOString(),
    });
  const updates = toSend.map((p) => ({
    name: p.input.certificate,
    key: p.saved.keyPem,
    certificate: p.saved.certificatePem,
  }));
  let api = (await choosePushApi(cluster, client)).api;
  let fellBack: string | undefined;
  if (updates.length > 0 && api === 'certificates') {
    try {
      await client.updateCertificates(updates);
    } catch (error) {
      if (!(error instanceof PushApiUnavailableError)) throw error;
      fellBack = `${error.message}; fell back to PUT /v1/cluster/update_cert`;
      api = 'update_cert';
    }
  }
  if (api === 'update_cert') for (const update of updates) await client.updateCertificate(update);

  const results: PushResult[] = [];
  for (const p of prepared) {
    const pushed = { ...p.saved, pushedAt: p.saved.pushedAt ?? ctx.now().toISOString() };
    await ctx.state.saveIssued(pushed);
    await ctx.state.markPending(p.input.cluster, p.input.certificate, {
      fingerprint256: p.saved.fingerprint256,
      phase: 'pushed',
      at: pushed.pushedAt,
    });
    results.push({
      certificate: pushed,
      replacedNotAfter: p.replacedNotAfter,
      replacedFingerprint256: p.replacedFingerprint256,
    });
  }
  return { results, api, ...(fellBack ? { fellBack } : {}) };
}

export type PushApi = 'certificates' | 'update_cert';

/** The first RS version that serves PUT /v1/cluster/certificates. */
export const BULK_PUSH_SINCE = [7, 22, 2] as const;

/** `7.22.2-14` is at least 7.22.2; an unreadable version is not. */
export function versionAtLeast(version: string | null, min: readonly number[] = BULK_PUSH_SINCE): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  for (let i = 0; i < 3; i++) {
    const v = Number(m[i + 1]);
    if (v !== min[i]) return v > (min[i] ?? 0);
  }
  return true;
}

export interface PushApiChoice {
  api: PushApi;
  /** Each node's software_version, when they were read (`auto`). */
  versions: Array<string | null>;
}

/**
 * The API a push to this cluster uses: the configured one, or with `auto` the bulk API when every
 * node reports RS 7.22.2 or later in GET /v1/nodes, else update_cert.
 */
export async function choosePushApi(
  cluster: Pick<ClusterConfig, 'pushApi'>,
  client: Pick<RsClient, 'getNodes'>,
): Promise<PushApiChoice> {
  if (cluster.pushApi !== 'auto') return { api: cluster.pushApi, versions: [] };
  const versions = (await client.getNodes()).map((n) => n.softwareVersion);
  const bulk = versions.length > 0 && versions.every((v) => versionAtLeast(v));
  return { api: bulk ? 'certificates' : 'update_cert', versions };
}

/**
 * For reports (`check --json`): each node's version and the API a push would use. A cluster whose
 * nodes cannot be read still reports its certificates: the fields are left out.
 */
export async function describePushApi(
  cluster: Pick<ClusterConfig, 'pushApi'>,
  client: Pick<RsClient, 'getNodes'>,
): Promise<{ softwareVersions?: Array<string | null>; pushApi?: PushApi }> {
  try {
    const nodes = await client.getNodes();
    const choice = await choosePushApi(cluster, { getNodes: async () => nodes });
    return { softwareVersions: nodes.map((n) => n.softwareVersion), pushApi: choice.api };
  } catch {
    return {};
  }
}

interface PreparedPush {
  input: PushInput;
  saved: StoredCertificate;
  /** False when a resumed run finds ours on the cluster after a 200: verify, do not push again. */
  send: boolean;
  replacedNotAfter: string | null;
  replacedFingerprint256: string | null;
}

async function preparePush(
  ctx: RenewalContext,
  set: ClusterCertificateSet,
  input: PushInput,
): Promise<PreparedPush> {
  const cluster = clusterByName(ctx.config, input.cluster);
  const saved = await ctx.state.issued(input.cluster, input.certificate);
  if (!saved) {
    throw new StateStoreError(
      `no saved certificate for ${input.certificate} on cluster "${input.cluster}" to push`,
      {
        hint: 'the issue step did not complete; run the renewal again',
      },
    );
  }

  if (saved.rejected) {
    // Obtain never hands over a refused certificate; this guards a push started on its own.
    const [failure] = saved.rejected.split(':', 1) as [ValidationFailure];
    throw new CertificateValidationError(
      failure,
      `${input.certificate}: the saved certificate was refused before: ${saved.rejected}`,
      {
        hint: 'run renew again: a new certificate is ordered',
      },
    );
  }

  const currentPem = set.certificate(input.certificate);
  const problem = set.fieldProblem(input.certificate);
  if (problem !== null) {
    throw new BadResponseError(
      `cluster "${input.cluster}": ${problem}; the watchdog will not replace a certificate it cannot read`,
      { hint: 'check the cluster with GET /v1/cluster/certificates; nothing was pushed' },
    );
  }
  if (currentPem === undefined) {
    throw new UnknownCertificateError(
      `cluster "${input.cluster}" has no ${input.certificate}_cert to replace`,
      {
        hint: 'check the certificate name in the configuration',
      },
    );
  }
  const currentFingerprint = fingerprintOf(currentPem);

  // Pushing again after a 409 or a crash: the cluster may already hold ours. Compare against the
  // certificate we replaced, saved before the first push.
  const firstPush = currentFingerprint !== saved.fingerprint256;
  const replacedPem = firstPush
    ? currentPem
    : ((await ctx.state.previous(input.cluster, input.certificate))?.certificatePem ?? null);
  const replacedNotAfter = replacedPem ? safeNotAfter(replacedPem) : null;
  if (input.rollback || saved.rollback) {
    // The kept certificate goes back as it was: only what a rollback must still satisfy.
    const trust = await clientTrust(ctx, input, true);
    validateRollback(ctx, cluster, saved, trust);
    await rollbackWithPeers(ctx, cluster, saved, trust);
  } else {
    try {
      const trust = await clientTrust(ctx, input);
      validateForPush(
        {
          name: input.certificate,
          certificatePem: saved.certificatePem,
          keyPem: saved.keyPem,
          domains: renewalSettings(cluster, input.certificate).domains,
          connectName: input.certificate === 'api' ? connectName(cluster) : undefined,
        },
        replacedPem === null ? null : { certificatePem: replacedPem },
        { now: ctx.now(), trustPems: [...trust, ...ctx.publicRootPems] },
      );
      await checkWithPeers(ctx, saved, trust);
    } catch (error) {
      // Keep it for inspection, never push or reuse it: the next run orders a fresh one.
      if (error instanceof CertificateValidationError) {
        await ctx.state.saveIssued({ ...saved, rejected: `${error.failure}: ${error.message}` });
      }
      throw error;
    }
  }

  if (firstPush)
    await ctx.state.savePrevious(asPrevious(input, currentPem, set.key(input.certificate) ?? ''));
  return {
    input,
    saved,
    send: !(input.resume === 'pushed' && !firstPush),
    replacedNotAfter,
    replacedFingerprint256: replacedPem ? fingerprintOf(replacedPem) : null,
  };
}

/**
 * What a kept certificate must satisfy to go back: it parses, its key belongs to it, its chain is
 * in order and anchored (in the public roots, the ACME CA's, or the cluster's own CA, which signed
 * the certificates RS ships), it is valid now, and an `api` certificate still covers the name the
 * watchdog connects by. The renewal-only rules (expires later, covers the configured domains) do not
 * apply: going back to the earlier certificate is the point.
 */
export function validateRollback(
  ctx: Pick<RenewalContext, 'now' | 'publicRootPems'>,
  cluster: ClusterConfig,
  kept: StoredCertificate,
  trust: readonly string[],
): void {
  try {
    validateForPush(
      {
        name: kept.name,
        certificatePem: kept.certificatePem,
        keyPem: kept.keyPem,
        domains: [],
        connectName: kept.name === 'api' ? connectName(cluster) : undefined,
      },
      null,
      { now: ctx.now(), trustPems: [...trust, ...ctx.publicRootPems] },
    );
  } catch (error) {
    if (!(error instanceof CertificateValidationError)) throw error;
    throw new RollbackRefusedError(
      `cluster "${cluster.name}": the kept ${kept.name} certificate cannot go back: ${error.message}`,
      { hint: 'nothing was pushed; install a certificate by hand (PUT /v1/cluster/update_cert or rladmin)' },
    );
  }
}

/**
 * The last check before a push: the candidate is verified as its peers will verify it, by a TLS
 * handshake on loopback with a peer holding their trust (ports/handshake-verifier.ts). As a server
 * (every certificate RS serves), a client trusting the public roots plus `trust` verifies it; as a
 * client (syncer, ldap_client, internode), a server trusting `trust` alone does: the servers such a
 * certificate meets (an Active-Active peer, an LDAP server) trust the CA they were set up with, not
 * the public roots. OpenSSL then checks every certificate's dates, basic constraints and path
 * length, key usage, name constraints and the leaf's extended key usage, as the real peers' OpenSSL
 * will. A refusal is a CertificateValidationError with OpenSSL's reason; nothing is pushed.
 */
export async function checkWithPeers(
  ctx: Pick<RenewalContext, 'handshake'>,
  candidate: Pick<StoredCertificate, 'name' | 'certificatePem' | 'keyPem'>,
  trust: readonly string[],
): Promise<void> {
  const roles = tlsRoles(candidate.name);
  let outcome: Awaited<ReturnType<RenewalContext['handshake']>>;
  try {
    outcome = await ctx.handshake({
      certificatePem: candidate.certificatePem,
      keyPem: candidate.keyPem,
      trust,
      asServer: roles.server,
      asClient: roles.client,
    });
  } catch (error) {
    throw new CertificateValidationError(
      'refused-by-peers',
      `${candidate.name}: the certificate could not be checked as its peers would check it (no TLS handshake on loopback: ${(error as Error).message}); it is not pushed unchecked`,
      { hint: 'nothing was pushed; this process must be able to listen on and connect to 127.0.0.1' },
    );
  }
  const refusal = outcome.asServer ?? outcome.asClient;
  if (!refusal) return;
  const who = outcome.asServer
    ? 'a TLS client holding the trust its clients have'
    : 'a TLS server holding the trust of the servers it connects to';
  throw new CertificateValidationError(
    peerFailure(refusal.code, refusal.reason),
    `${candidate.name}: ${who} refused it in a handshake: ${refusal.reason} (${refusal.code}); pushing it would lock them out`,
    { hint: peerHint(refusal.reason) },
  );
}

/** The validation failure an OpenSSL verification error stands for. */
function peerFailure(code: string, reason: string): ValidationFailure {
  if (/subtree|name constraint/i.test(reason)) return 'name-constraints';
  if (code === 'PATH_LENGTH_EXCEEDED') return 'path-length';
  if (code === 'INVALID_CA' || /certificate signing/i.test(reason)) return 'not-a-ca';
  if (code === 'INVALID_PURPOSE') return 'usage-missing';
  if (code === 'CERT_NOT_YET_VALID') return 'not-yet-valid';
  if (code === 'CERT_HAS_EXPIRED') return 'expired';
  if (/ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return 'untrusted-root';
  return 'refused-by-peers';
}

function peerHint(reason: string): string {
  if (/subtree|name constraint/i.test(reason))
    return "nothing was pushed; a CA in the chain may not issue for this name (its name constraints): use a CA allowed to, or change the certificate's domains";
  return 'nothing was pushed; the next run orders a new certificate (fix the CA first if it issues such chains)';
}

/** checkWithPeers for a rollback: a refusal is a RollbackRefusedError. */
export async function rollbackWithPeers(
  ctx: Pick<RenewalContext, 'handshake'>,
  cluster: ClusterConfig,
  kept: StoredCertificate,
  trust: readonly string[],
): Promise<void> {
  try {
    await checkWithPeers(ctx, kept, trust);
  } catch (error) {
    if (!(error instanceof CertificateValidationError)) throw error;
    throw new RollbackRefusedError(
      `cluster "${cluster.name}": the kept ${kept.name} certificate cannot go back: ${error.message}`,
      { hint: 'nothing was pushed; install a certificate by hand (PUT /v1/cluster/update_cert or rladmin)' },
    );
  }
}

/**
 * The trust, beyond the public roots, of the new certificate's clients. For `api` the client is the
 * watchdog itself on its next run (the cluster's pinned CA and acme.caFile); for the others, the
 * ACME CA's roots (acme.caFile). Validation and verification both use it.
 */
export async function clientTrust(
  ctx: RenewalContext,
  input: { cluster: string; certificate: string },
  includeClusterCa = false,
): Promise<string[]> {
  const extra = ctx.acmeTrustPem ? [ctx.acmeTrustPem] : [];
  // A private CA (AWS Private CA, the local CA) is the anchor its certificates' clients were set up
  // to trust (the peer cluster for syncer, the LDAP server for ldap_client): the root it returned
  // with the chain is that anchor. Not for `api`, whose client is the watchdog: its trust must come
  // from the cluster's caFile, or the next run is locked out.
  const settings = managedSettings(clusterByName(ctx.config, input.cluster), input.certificate);
  if (input.certificate !== 'api' && settings && typeof settings.issuer === 'object') {
    const saved = await ctx.state.issued(input.cluster, input.certificate);
    const chain = saved ? parseCertificateChain(saved.certificatePem) : [];
    const root = chain[chain.length - 1];
    if (chain.length > 1 && root && root.checkIssued(root)) extra.push(root.toString());
  }
  if (input.certificate === 'api' || includeClusterCa) {
    const access = await ctx.credentials.resolve(clusterByName(ctx.config, input.cluster));
    if (access.caPem) extra.push(access.caPem);
  }
  return extra;
}

/**
 * When retries run out the cluster is still half-updated: say which nodes, from GET /v1/nodes and,
 * for `api`, from what each node serves on the API port.
 */
export async function describeHalfUpdate(
  ctx: RenewalContext,
  client: RsClient,
  input: { cluster: string; certificate: string },
  error: NodesNotUpdatedError,
  attempts: number,
): Promise<NodesNotUpdatedError> {
  const saved = await ctx.state.issued(input.cluster, input.certificate).catch(() => null);
  let nodes = 'node list unavailable';
  try {
    const list = await client.getNodes();
    const cluster = clusterByName(ctx.config, input.cluster);
    const probes: ProbeResult[] =
      input.certificate === 'api' && saved
        ? await Promise.all(
            list.map((n) =>
              ctx.probe(`${n.addr}:${apiPort(cluster.endpoint)}`, {
                expectedName: saved.domains[0] ?? n.addr,
                ca: ctx.acmeTrustPem ? [ctx.acmeTrustPem] : [],
                timeoutMs: VERIFY_PROBE.timeoutMs,
              }),
            ),
          )
        : [];
    nodes = list
      .map((n, i) => {
        const probe = probes[i];
        const serving = probe
          ? probe.fingerprint256 === saved?.fingerprint256
            ? ', serves the new certificate'
            : probe.error
              ? `, probe failed (${probe.error})`
              : ', still serves the old certificate'
          : '';
        return `node ${n.uid} (${n.addr}, ${n.status}${serving})`;
      })
      .join('; ');
  } catch {
    // The alert is still worth sending without the node list.
  }
  return new NodesNotUpdatedError(
    `cluster "${input.cluster}" is half-updated: ${input.certificate} was pushed ${attempts} times and not all nodes took it. Nodes: ${nodes}`,
    {
      status: 409,
      hint: 'the new certificate is saved; fix the failing node(s), then run renew again: the same certificate is pushed, nothing is re-ordered',
      cause: error,
    },
  );
}

/** What the cluster held before our first push, kept for rollback (key included: it is a state secret). */
export function asPrevious(
  input: { cluster: string; certificate: string },
  certificatePem: string,
  keyPem: string,
): StoredCertificate {
  let details: ReturnType<typeof describeLeaf> | undefined;
  try {
    details = describeLeaf(parseCertificateChain(certificatePem));
  } catch {
    details = undefined; // an unreadable certificate is still worth keeping as it was
  }
  return {
    cluster: input.cluster,
    name: input.certificate,
    domains: details?.dnsNames ?? [],
    keyType: details?.keyType ?? 'unknown',
    certificatePem,
    keyPem,
    notAfter: details?.notAfter.toISOString() ?? '',
    serialNumber: details?.serialNumber ?? '',
    fingerprint256: details?.fingerprint256 ?? '',
    issuedAt: details?.notBefore.toISOString() ?? '',
    pushedAt: null,
  };
}

export function safeNotAfter(pem: string): string | null {
  try {
    const leaf = parseCertificateChain(pem)[0];
    return leaf ? new Date(leaf.validTo).toISOString() : null;
  } catch {
    return null;
  }
}

/** The REST API port of a cluster's endpoint: every node serves the api certificate there. */
export function apiPort(endpoint: string): string {
  return new URL(endpoint).port || '9443';
}
