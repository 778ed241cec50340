/**
 * Step 2: validate the saved certificate against what the cluster holds, keep the cluster's current
 * certificate as `previous` (rollback), and PUT it. One attempt: a 409 surfaces as
 * NodesNotUpdatedError for the caller's retry policy (CLI loop or Step Functions Retry).
 */

import { backoffDelayMs } from '../backoff';
import { describeLeaf, parseCertificateChain } from '../certificate';
import { connectName } from '../credentials';
import {
  CertificateParseError,
  CertificateValidationError,
  NodesNotUpdatedError,
  StateStoreError,
  UnknownCertificateError,
  type ValidationFailure,
} from '../errors';
import { type ProbeResult, probeEndpoint } from '../probe';
import { DEFAULT_PUSH_RETRY, type PushRetryPolicy, pushBackoff } from '../retry-policy';
import type { RsClient } from '../rs/client';
import type { StoredCertificate } from '../state';
import { validateForPush } from '../validate';
import { clusterByName, managedCertificate, type RenewalContext } from './context';

export interface PushResult {
  certificate: StoredCertificate;
  /** notAfter of the certificate this one replaced. */
  replacedNotAfter: string | null;
}

export async function pushSavedCertificate(
  ctx: RenewalContext,
  client: RsClient,
  input: { cluster: string; certificate: string },
): Promise<PushResult> {
  const cluster = clusterByName(ctx.config, input.cluster);
  const managed = managedCertificate(cluster, input.certificate);
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
        domains: managed.domains,
        connectName: input.certificate === 'api' ? connectName(cluster) : undefined,
      },
      replacedPem === null ? null : { certificatePem: replacedPem },
      { now: ctx.now(), trustPem: ctx.acmeTrustPem },
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

  await client.updateCertificate({
    name: input.certificate,
    key: saved.keyPem,
    certificate: saved.certificatePem,
  });
  const pushed = { ...saved, pushedAt: ctx.now().toISOString() };
  await ctx.state.saveIssued(pushed);
  return { certificate: pushed, replacedNotAfter };
}

/** The CLI's push: the same policy as the Step Functions Retry, the same certificate every time. */
export async function pushWithRetries(
  ctx: RenewalContext,
  client: RsClient,
  input: { cluster: string; certificate: string },
  policy: PushRetryPolicy = DEFAULT_PUSH_RETRY,
): Promise<PushResult> {
  const backoff = pushBackoff(policy);
  for (let retry = 0; ; retry++) {
    try {
      return await pushSavedCertificate(ctx, client, input);
    } catch (error) {
      if (!(error instanceof NodesNotUpdatedError)) throw error;
      if (retry >= policy.maxAttempts) throw await describeHalfUpdate(ctx, client, input, error, retry + 1);
      await ctx.sleep(
        backoff.jitter
          ? backoffDelayMs(backoff, retry + 1)
          : Math.min(backoff.maxMs, backoff.baseMs * backoff.rate ** retry),
      );
    }
  }
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
              probeEndpoint(`${n.addr}:${new URL(cluster.endpoint).port || '9443'}`, {
                expectedName: saved.domains[0] ?? n.addr,
                ca: ctx.acmeTrustPem ? [ctx.acmeTrustPem] : [],
                timeoutMs: 3_000,
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

function fingerprintOf(pem: string): string | null {
  try {
    return parseCertificateChain(pem)[0]?.fingerprint256 ?? null;
  } catch (error) {
    if (error instanceof CertificateParseError) return null;
    throw error;
  }
}

function safeNotAfter(pem: string): string | null {
  try {
    const leaf = parseCertificateChain(pem)[0];
    return leaf ? new Date(leaf.validTo).toISOString() : null;
  } catch {
    return null;
  }
}
