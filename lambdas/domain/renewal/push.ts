/**
 * The Push step: validate the saved certificate against what the cluster holds, keep the cluster's
 * current certificate as `previous` (rollback), and PUT it. One attempt: a 409 surfaces as
 * NodesNotUpdatedError for the runner's Retry (the CLI's local runner or Step Functions), which
 * pushes the same saved certificate again.
 */

import { describeLeaf, parseCertificateChain } from '../certificate';
import {
  BadResponseError,
  CertificateValidationError,
  NodesNotUpdatedError,
  StateStoreError,
  UnknownCertificateError,
  type ValidationFailure,
} from '../errors';
import type { ProbeResult } from '../ports';
import { VERIFY_PROBE } from '../retry';
import type { RsClient } from '../rs/client';
import { connectName } from '../rs/connection';
import type { StoredCertificate } from '../state';
import { validateForPush } from '../validate';
import { clusterByName, type DueCertificate, type RenewalContext, renewalSettings } from './context';
import { fingerprintOf } from './obtain';

export interface PushResult {
  certificate: StoredCertificate;
  /** notAfter of the certificate this one replaced. */
  replacedNotAfter: string | null;
}

export async function pushSavedCertificate(
  ctx: RenewalContext,
  client: RsClient,
  input: Pick<DueCertificate, 'cluster' | 'certificate' | 'resume'>,
): Promise<PushResult> {
  const cluster = clusterByName(ctx.config, input.cluster);
  const settings = renewalSettings(cluster, input.certificate);
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

  const set = await client.getCertificates();
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
  try {
    validateForPush(
      {
        name: input.certificate,
        certificatePem: saved.certificatePem,
        keyPem: saved.keyPem,
        domains: settings.domains,
        connectName: input.certificate === 'api' ? connectName(cluster) : undefined,
      },
      replacedPem === null ? null : { certificatePem: replacedPem },
      { now: ctx.now(), trustPems: [...ctx.publicRootPems, ...(await clientTrust(ctx, input))] },
    );
  } catch (error) {
    // Keep it for inspection, never push or reuse it: the next run orders a fresh one.
    if (error instanceof CertificateValidationError) {
      await ctx.state.saveIssued({ ...saved, rejected: `${error.failure}: ${error.message}` });
    }
    throw error;
  }

  if (firstPush)
    await ctx.state.savePrevious(asPrevious(input, currentPem, set.key(input.certificate) ?? ''));

  // A resumed run whose PUT was answered 200 finds ours on the cluster: verify, do not push again
  // (every push drops the connections that use the certificate).
  if (!(input.resume === 'pushed' && !firstPush)) {
    await ctx.state.markPending(input.cluster, input.certificate, {
      fingerprint256: saved.fingerprint256,
      phase: 'pushing',
      at: ctx.now().toISOString(),
    });
    await client.updateCertificate({
      name: input.certificate,
      key: saved.keyPem,
      certificate: saved.certificatePem,
    });
  }
  const pushed = { ...saved, pushedAt: saved.pushedAt ?? ctx.now().toISOString() };
  await ctx.state.saveIssued(pushed);
  await ctx.state.markPending(input.cluster, input.certificate, {
    fingerprint256: saved.fingerprint256,
    phase: 'pushed',
    at: pushed.pushedAt,
  });
  return { certificate: pushed, replacedNotAfter };
}

/**
 * The trust, beyond the public roots, of the new certificate's clients. For `api` the client is the
 * watchdog itself on its next run (the cluster's pinned CA and acme.caFile); for the others, the
 * ACME CA's roots (acme.caFile). Validation and verification both use it.
 */
export async function clientTrust(
  ctx: RenewalContext,
  input: { cluster: string; certificate: string },
): Promise<string[]> {
  const extra = ctx.acmeTrustPem ? [ctx.acmeTrustPem] : [];
  // A private CA (AWS Private CA, the local CA) is the anchor its certificates' clients were set up
  // to trust (the peer cluster for syncer, the LDAP server for ldap_client): the root it returned
  // with the chain is that anchor. Not for `api`, whose client is the watchdog: its trust must come
  // from the cluster's caFile, or the next run is locked out.
  const settings = clusterByName(ctx.config, input.cluster).certificates[input.certificate];
  if (input.certificate !== 'api' && settings && typeof settings.issuer === 'object') {
    const saved = await ctx.state.issued(input.cluster, input.certificate);
    const chain = saved ? parseCertificateChain(saved.certificatePem) : [];
    const root = chain[chain.length - 1];
    if (chain.length > 1 && root && root.checkIssued(root)) extra.push(root.toString());
  }
  if (input.certificate === 'api') {
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
function asPrevious(
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

function safeNotAfter(pem: string): string | null {
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
