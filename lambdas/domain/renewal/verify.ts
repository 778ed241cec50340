/**
 * The Verify step: after a 200, read the certificates again and compare fingerprints, then probe
 * what the endpoints actually serve: the API endpoint and every node's API port for `api`, plus any
 * endpoints configured under the cluster's `probe` for this certificate.
 *
 * An endpoint that does not answer is a warning (a node may be down for maintenance). An endpoint
 * that answers with another certificate, or with one that does not verify against the trust its
 * clients have, is a failure: it is what clients would see.
 */
import { VerificationError } from '../errors';
import type { ProbeResult } from '../ports';
import { VERIFY_PROBE } from '../retry';
import type { RsClient } from '../rs/client';
import type { StoredCertificate } from '../state';
import { clusterByName, type RenewalContext } from './context';
import { fingerprintOf } from './obtain';
import { apiPort, clientTrust } from './push';

export interface VerificationResult {
  probes: ProbeResult[];
  /** One line for the alert. */
  summary: string;
}

export async function verifyPushed(
  ctx: RenewalContext,
  client: RsClient,
  certificate: StoredCertificate,
): Promise<VerificationResult> {
  const cluster = clusterByName(ctx.config, certificate.cluster);
  const set = await client.getCertificates();
  const held = set.certificate(certificate.name);
  const heldFingerprint = fingerprintOf(held);
  if (heldFingerprint !== certificate.fingerprint256) {
    throw new VerificationError(
      `cluster "${certificate.cluster}" answered 200 but holds ${heldFingerprint ?? 'no readable'} ${certificate.name} certificate instead of ${certificate.fingerprint256}`,
      { hint: 'run renew again: the saved certificate is pushed again' },
    );
  }

  const endpoints = new Set(cluster.probe[certificate.name] ?? []);
  if (certificate.name === 'api') {
    const url = new URL(cluster.endpoint);
    const port = apiPort(cluster.endpoint);
    endpoints.add(`${url.hostname}:${port}`);
    for (const node of await client.getNodes().catch(() => [])) endpoints.add(`${node.addr}:${port}`);
  }
  const { probes, unreachable } = await probeServed(ctx, certificate, endpoints);
  await ctx.state.saveIssued({ ...certificate, verifiedAt: ctx.now().toISOString() });
  await ctx.state.clearPending(certificate.cluster, certificate.name);
  const served = probes.length - unreachable.length;
  const summary =
    `cluster holds the new certificate` +
    (probes.length ? `; ${served} of ${probes.length} endpoint(s) serve it` : '') +
    (unreachable.length
      ? `; unreachable: ${unreachable.map((p) => `${p.endpoint} (${p.error})`).join(', ')}`
      : '');
  return { probes, summary };
}

/**
 * What `endpoints` serve: each must serve `certificate` (a few tries: some RS versions reload
 * certificates asynchronously), verified against the trust of its clients. One that serves another
 * certificate, or one that does not verify, is a VerificationError; one that does not answer is a
 * warning, returned in `unreachable`.
 */
export async function probeServed(
  ctx: RenewalContext,
  certificate: StoredCertificate,
  endpoints: ReadonlySet<string>,
): Promise<{ probes: ProbeResult[]; unreachable: ProbeResult[] }> {
  // Nodes reload certificates asynchronously in some versions: give a stale endpoint a few tries.
  const wrong = (p: ProbeResult) =>
    p.failure === 'untrusted' ||
    (p.fingerprint256 !== null && p.fingerprint256 !== certificate.fingerprint256);
  const ca = await clientTrust(ctx, { cluster: certificate.cluster, certificate: certificate.name });
  let probes: ProbeResult[] = [];
  for (let attempt = 1; attempt <= VERIFY_PROBE.attempts; attempt++) {
    probes = await Promise.all(
      [...endpoints].map((endpoint) =>
        ctx.probe(endpoint, {
          expectedName: certificate.domains[0] ?? '',
          ca,
          timeoutMs: VERIFY_PROBE.timeoutMs,
        }),
      ),
    );
    if (!probes.some(wrong)) break;
    if (attempt < VERIFY_PROBE.attempts) await ctx.sleep(VERIFY_PROBE.delayMs);
  }
  const untrusted = probes.filter((p) => p.failure === 'untrusted');
  if (untrusted.length > 0) {
    throw new VerificationError(
      `cluster "${certificate.cluster}": ${untrusted.map((p) => `${p.endpoint} (${p.error})`).join(', ')} serve(s) a ${certificate.name} certificate that does not verify for ${certificate.domains[0] ?? 'its name'}`,
      {
        hint: "clients cannot trust what the cluster serves; roll back (rs-cert-watchdog rollback) or fix the chain and the cluster's trust",
      },
    );
  }
  const stale = probes.filter(wrong);
  const unreachable = probes.filter((p) => p.failure === 'unreachable');
  if (stale.length > 0) {
    throw new VerificationError(
      `cluster "${certificate.cluster}" holds the new ${certificate.name} certificate but ${stale.map((p) => p.endpoint).join(', ')} still serve(s) another one`,
      { hint: 'the node may need its services restarted; the new certificate is installed and saved' },
    );
  }
  return { probes, unreachable };
}
