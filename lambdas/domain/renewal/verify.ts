/**
 * Step 3: after a 200, read the certificates again and compare fingerprints, then probe what the
 * endpoints actually serve: the API endpoint and every node's API port for `api`, plus any
 * endpoints configured under the cluster's `probe` for this certificate.
 */
import { parseCertificateChain } from '../certificate';
import { VerificationError } from '../errors';
import { type ProbeResult, probeEndpoint } from '../probe';
import type { RsClient } from '../rs/client';
import type { StoredCertificate } from '../state';
import { clusterByName, type RenewalContext } from './context';

export interface VerificationResult {
  holds: boolean;
  probes: ProbeResult[];
  /** One line for the alert. */
  summary: string;
}

export async function verifyPushed(
  ctx: RenewalContext,
  client: RsClient,
  certificate: StoredCertificate,
  options: { attempts?: number; delayMs?: number } = {},
): Promise<VerificationResult> {
  const cluster = clusterByName(ctx.config, certificate.cluster);
  const set = await client.getCertificates();
  const held = set.certificate(certificate.name);
  const heldFingerprint = held ? safeFingerprint(held) : null;
  if (heldFingerprint !== certificate.fingerprint256) {
    throw new VerificationError(
      `cluster "${certificate.cluster}" answered 200 but holds ${heldFingerprint ?? 'no readable'} ${certificate.name} certificate instead of ${certificate.fingerprint256}`,
      { hint: 'run renew again: the saved certificate is pushed again' },
    );
  }

  const endpoints = new Set(cluster.probe[certificate.name] ?? []);
  if (certificate.name === 'api') {
    const url = new URL(cluster.endpoint);
    const port = url.port || '9443';
    endpoints.add(`${url.hostname}:${port}`);
    for (const node of await client.getNodes().catch(() => [])) endpoints.add(`${node.addr}:${port}`);
  }

  // Nodes reload certificates asynchronously in some versions: give a stale endpoint a few tries.
  const attempts = options.attempts ?? 3;
  let probes: ProbeResult[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    probes = await Promise.all(
      [...endpoints].map((endpoint) =>
        probeEndpoint(endpoint, {
          expectedName: certificate.domains[0] ?? '',
          ca: ctx.acmeTrustPem ? [ctx.acmeTrustPem] : [],
          timeoutMs: 5_000,
        }),
      ),
    );
    if (!probes.some((p) => p.fingerprint256 !== null && p.fingerprint256 !== certificate.fingerprint256))
      break;
    if (attempt < attempts) await ctx.sleep(options.delayMs ?? 2_000);
  }
  const stale = probes.filter(
    (p) => p.fingerprint256 !== null && p.fingerprint256 !== certificate.fingerprint256,
  );
  const unreachable = probes.filter((p) => p.fingerprint256 === null);
  if (stale.length > 0) {
    throw new VerificationError(
      `cluster "${certificate.cluster}" holds the new ${certificate.name} certificate but ${stale.map((p) => p.endpoint).join(', ')} still serve(s) another one`,
      { hint: 'the node may need its services restarted; the new certificate is installed and saved' },
    );
  }
  await ctx.state.saveIssued({ ...certificate, verifiedAt: ctx.now().toISOString() });
  const served = probes.length - unreachable.length;
  const summary =
    `cluster holds the new certificate` +
    (probes.length ? `; ${served} of ${probes.length} endpoint(s) serve it` : '') +
    (unreachable.length
      ? `; unreachable: ${unreachable.map((p) => `${p.endpoint} (${p.error})`).join(', ')}`
      : '');
  return { holds: true, probes, summary };
}

function safeFingerprint(pem: string): string | null {
  try {
    return parseCertificateChain(pem)[0]?.fingerprint256 ?? null;
  } catch {
    return null;
  }
}
