/**
 * The last gate before PUT /v1/cluster/update_cert: never push a certificate that would break the
 * cluster. Each rule is a reason an operator would give for refusing the certificate by hand.
 */
import type { X509Certificate } from 'node:crypto';
import {
  type CertificateDetails,
  coversName,
  describeLeaf,
  EKU_CLIENT_AUTH,
  EKU_SERVER_AUTH,
  keyMatchesLeaf,
  parseCertificateChain,
  parsePrivateKey,
} from './certificate';
import { isInternode } from './certificate-kinds';
import { CertificateParseError, CertificateValidationError } from './errors';

/** RS certificates whose holder acts as a TLS client: Active-Active syncer, LDAP client. */
export const CLIENT_CERTIFICATES: ReadonlySet<string> = new Set(['syncer', 'ldap_client']);

/**
 * What the holder of an RS certificate does with it in TLS: `server`, its clients verify it (every
 * certificate RS serves; all but ldap_client, which RS only presents to an LDAP server); `client`,
 * the servers it connects to verify it (syncer to Active-Active peers, ldap_client, internode).
 */
export function tlsRoles(name: string): { server: boolean; client: boolean } {
  return {
    server: name !== 'ldap_client',
    client: CLIENT_CERTIFICATES.has(name) || name.includes('internode'),
  };
}

export interface PushCandidate {
  name: string;
  certificatePem: string;
  keyPem: string;
  /** The configured domains. */
  domains: string[];
  /** For `api`: the name or IP the watchdog itself connects by, which the certificate must cover. */
  connectName?: string | undefined;
}

export interface ReplacedCertificate {
  certificatePem: string;
}

/**
 * Validates a candidate. Rules, in order:
 *  1. it parses and the key belongs to the leaf;
 *  2. the chain is complete and in order: each certificate is issued by the next, and it ends at a
 *     root of `trustPems` (the last certificate is that root, or is issued by it). The caller chooses
 *     the roots the certificate's clients trust: for `api`, the watchdog's own trust on its next
 *     connection (cluster caFile, acme.caFile, public roots); a certificate that chains to anything
 *     else would lock the watchdog, or the cluster's clients, out;
 *  3. it is valid now;
 *  4. it covers every configured domain, and every DNS name the replaced certificate covered
 *     (clients connect by those names today), but for names no CA issues (localhost, single labels);
 *     an `api` certificate also covers the name the watchdog connects by, or the next run is locked out;
 *  5. it expires no earlier than the replaced certificate (the same second is a re-key: a forced
 *     renewal at a CA that issues fixed lifetimes, within one second of the last one);
 *  6. it keeps the extended key usage the cluster relies on: serverAuth for certificates RS serves,
 *     clientAuth for syncer and ldap_client (public CAs are dropping clientAuth);
 *  7. an internode encryption certificate has an RSA key and clientAuth (RS refuses others);
 *  8. it has the usages its role needs (tlsRoles), whatever the replaced certificate had.
 * Rule 2 also requires every issuer in the chain to be a CA, and rule 3 every certificate of the
 * chain to be valid now. What node:crypto cannot see (name constraints, path length, a CA's key
 * usage) the peers' own check covers: the Push step has the candidate verified by a TLS handshake
 * with the peers' trust (renewal/push.ts checkWithPeers) after these rules pass.
 */
export function validateForPush(
  candidate: PushCandidate,
  replaced: ReplacedCertificate | null,
  options: { now: Date; trustPems: readonly string[] },
): CertificateDetails {
  const { name } = candidate;
  let chain: X509Certificate[];
  try {
    chain = parseCertificateChain(candidate.certificatePem);
  } catch (error) {
    throw new CertificateValidationError('chain-incomplete', `${name}: ${(error as Error).message}`);
  }
  const leaf = chain[0]!;
  const details = describeLeaf(chain);

  // 1.
  let key: ReturnType<typeof parsePrivateKey> | undefined;
  try {
    key = parsePrivateKey(candidate.keyPem);
  } catch (error) {
    if (!(error instanceof CertificateParseError)) throw error;
  }
  if (!key || !keyMatchesLeaf(leaf, key)) {
    const leafAt = key ? chain.findIndex((cert) => keyMatchesLeaf(cert, key)) : -1;
    if (leafAt > 0) {
      throw new CertificateValidationError(
        'chain-incomplete',
        `${name}: the chain is out of order: the certificate for this key is #${leafAt + 1}, it must come first`,
        { hint: 'nothing was pushed; order the PEM leaf first, then intermediates' },
      );
    }
    throw new CertificateValidationError(
      'key-mismatch',
      `${name}: the private key does not belong to the certificate`,
      {
        hint: 'nothing was pushed; the next run orders a new certificate with a fresh key',
      },
    );
  }

  // 2.
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i]!;
    const parent = chain[i + 1]!;
    const parentName = parent.subject.replace(/\n/g, ', ');
    // Signed by it and named after it: the chain is in order. Whether it may issue is asked next.
    if (child.issuer !== parent.subject || !child.verify(parent.publicKey)) {
      throw new CertificateValidationError(
        'chain-incomplete',
        `${name}: chain certificate #${i + 2} (${parentName}) did not issue #${i + 1}; the chain is out of order or mixed`,
        { hint: 'nothing was pushed' },
      );
    }
    if (!parent.ca) {
      throw new CertificateValidationError(
        'not-a-ca',
        `${name}: chain certificate #${i + 2} (${parentName}) issued #${i + 1} but is not a CA (basicConstraints cA is not set, or its key usage does not include certificate signing): every client refuses the chain`,
        { hint: 'nothing was pushed; the CA issued from a certificate that may not issue' },
      );
    }
    // OpenSSL's issuer check: the CA's key usage allows certificate signing, and #i+1's authority
    // key identifier names the CA's key.
    if (!child.checkIssued(parent)) {
      throw new CertificateValidationError(
        'not-a-ca',
        `${name}: chain certificate #${i + 2} (${parentName}) signed #${i + 1}, but clients do not accept it as its issuer: its key usage does not include certificate signing (keyCertSign), or #${i + 1}'s authority key identifier names another key`,
        { hint: 'nothing was pushed; the CA certificate must allow keyCertSign' },
      );
    }
  }
  const last = chain[chain.length - 1]!;
  if (!anchored(last, options.trustPems)) {
    const selfSigned = isSelfIssued(last);
    throw new CertificateValidationError(
      selfSigned ? 'untrusted-root' : 'chain-incomplete',
      selfSigned
        ? `${name}: the chain ends at the root "${last.subject.replace(/\n/g, ', ')}", which its clients${candidate.connectName !== undefined ? ' (the watchdog included)' : ''} do not trust; pushing it would lock them out`
        : `${name}: the chain ends at "${last.issuer.replace(/\n/g, ', ')}", whose certificate is neither in the chain nor a trusted root; clients could not build the chain`,
      {
        hint: selfSigned
          ? "use a CA whose root is public, or add its root to acme.caFile (and, for api, the cluster's caFile)"
          : 'include the intermediate certificates (full chain), or add the root to acme.caFile',
      },
    );
  }

  // 3.
  if (options.now < details.notBefore) {
    throw new CertificateValidationError(
      'not-yet-valid',
      `${name}: not valid before ${details.notBefore.toISOString()}`,
      {
        hint: "check this machine's clock",
      },
    );
  }
  if (options.now >= details.notAfter) {
    throw new CertificateValidationError('expired', `${name}: expired at ${details.notAfter.toISOString()}`, {
      hint: 'the CA issued an expired certificate, or the clock is wrong; nothing was pushed',
    });
  }

  // 3, for every certificate above the leaf: clients check each one's dates, not only the leaf's.
  for (let i = 1; i < chain.length; i++) {
    const cert = chain[i]!;
    const subject = cert.subject.replace(/\n/g, ', ');
    if (options.now < new Date(cert.validFrom)) {
      throw new CertificateValidationError(
        'not-yet-valid',
        `${name}: chain certificate #${i + 1} (${subject}) is not valid before ${new Date(cert.validFrom).toISOString()}: clients refuse the chain until then`,
        { hint: "nothing was pushed; the CA's certificate starts later (or this machine's clock is behind)" },
      );
    }
    if (options.now >= new Date(cert.validTo)) {
      throw new CertificateValidationError(
        'expired',
        `${name}: chain certificate #${i + 1} (${subject}) expired at ${new Date(cert.validTo).toISOString()}: clients refuse the chain`,
        {
          hint: "nothing was pushed; the CA's certificate must be renewed (or the CA must send its current chain)",
        },
      );
    }
  }

  // 4.
  const missing = candidate.domains.filter((d) => !coversName(details.dnsNames, d));
  let replacedDetails: CertificateDetails | null = null;
  if (replaced) {
    try {
      replacedDetails = describeLeaf(parseCertificateChain(replaced.certificatePem));
    } catch {
      replacedDetails = null; // an unreadable certificate constrains nothing
    }
  }
  for (const old of replacedDetails?.dnsNames ?? []) {
    if (!issuable(old)) continue;
    if (!coversName(details.dnsNames, old) && !missing.includes(old)) missing.push(old);
  }
  const connect = candidate.connectName;
  if (connect !== undefined) {
    const covered = isIpAddress(connect)
      ? details.ipAddresses.includes(connect)
      : coversName(details.dnsNames, connect);
    if (!covered) {
      throw new CertificateValidationError(
        'domains-missing',
        `${name}: the watchdog reaches the REST API as ${connect}, which the new certificate does not cover; pushing it would lock the next run out`,
        {
          hint: "point the cluster's endpoint (or serverName) at a name listed in the api certificate's domains",
        },
      );
    }
  }
  if (missing.length > 0) {
    throw new CertificateValidationError('domains-missing', `${name}: does not cover ${missing.join(', ')}`, {
      hint: 'add every name clients use (including those of the current certificate) to the certificate\'s "domains"',
    });
  }

  // 7. (RS 8.x) Internode encryption certificates: RS refuses any without an RSA key or clientAuth
  //    at upload (RS176474, 7.22.2-79 and 8.0.10-64): never send it one.
  if (isInternode(name)) {
    if (details.keyType !== 'rsa')
      throw new CertificateValidationError(
        'key-type',
        `${name}: RS requires an RSA key for internode encryption (this one is ${details.keyType})`,
        {
          hint: 'nothing was pushed; set "keyType": "rsa-2048" for it',
        },
      );
    if (!allows(details.extKeyUsage, EKU_CLIENT_AUTH))
      throw new CertificateValidationError(
        'usage-dropped',
        `${name}: RS requires the clientAuth usage for internode encryption`,
        {
          hint: 'nothing was pushed; use a private CA issuer (local-ca or aws-private-ca), which issues clientAuth',
        },
      );
  }

  if (replacedDetails) {
    // 5.
    if (details.notAfter < replacedDetails.notAfter) {
      throw new CertificateValidationError(
        'not-later',
        `${name}: expires ${details.notAfter.toISOString()}, before the current certificate (${replacedDetails.notAfter.toISOString()})`,
        { hint: 'someone installed a newer certificate; nothing was pushed' },
      );
    }
    // 6.
    const relied = CLIENT_CERTIFICATES.has(name) ? EKU_CLIENT_AUTH : EKU_SERVER_AUTH;
    if (allows(replacedDetails.extKeyUsage, relied) && !allows(details.extKeyUsage, relied)) {
      const usage = relied === EKU_CLIENT_AUTH ? 'clientAuth' : 'serverAuth';
      throw new CertificateValidationError(
        'usage-dropped',
        `${name}: the new certificate lacks the ${usage} extended key usage that the current one has and the cluster relies on`,
        {
          hint:
            relied === EKU_CLIENT_AUTH
              ? `${name} acts as a TLS client; use a CA (or profile) that still issues clientAuth certificates`
              : 'use a CA that issues serverAuth certificates',
        },
      );
    }
  }
  // 7. The usages its role needs, whatever the replaced certificate had.
  const roles = tlsRoles(name);
  for (const [needed, usage, role] of [
    [roles.server, EKU_SERVER_AUTH, 'serves TLS (serverAuth)'],
    [roles.client, EKU_CLIENT_AUTH, 'connects as a TLS client (clientAuth)'],
  ] as const) {
    if (needed && !allows(details.extKeyUsage, usage)) {
      throw new CertificateValidationError(
        'usage-missing',
        `${name}: the new certificate's extended key usage does not allow what its holder does with it: it ${role}; its peers would refuse it`,
        {
          hint:
            usage === EKU_CLIENT_AUTH
              ? `use a CA that still issues clientAuth certificates (a private CA: "issuer" of ${name})`
              : 'use a CA (or profile) that issues serverAuth certificates',
        },
      );
    }
  }
  return details;
}

/**
 * Names no CA can put in a certificate for us (`localhost`, single-label names): a replaced
 * certificate covering them constrains nothing, since no renewal could keep them.
 */
function issuable(name: string): boolean {
  return name !== 'localhost' && name.replace(/^\*\./, '').includes('.');
}

/** No EKU extension means any usage. */
function allows(eku: readonly string[], usage: string): boolean {
  return eku.length === 0 || eku.includes(usage) || eku.includes('2.5.29.37.0');
}

function isSelfIssued(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/**
 * Each trusted PEM parsed once per process (the public roots are ~140 certificates, ~20 ms to parse
 * and ~40 ms more to verify all their self-signatures: measured in bench/cli's renewal profile).
 */
const parsedTrust = new Map<string, X509Certificate[]>();

function trustedCertificates(pem: string): X509Certificate[] {
  let certs = parsedTrust.get(pem);
  if (!certs) {
    certs = safeChain(pem);
    parsedTrust.set(pem, certs);
  }
  return certs;
}

/**
 * The last certificate of a chain is a trusted root, or is issued by one. Only roots anchor: clients
 * have roots, not the intermediates a CA file may also hold. The list is read in order (callers put
 * the configured CAs before the public roots) and stops at the first anchor; a signature is checked
 * only for a root whose name matches.
 */
function anchored(last: X509Certificate, trustPems: readonly string[]): boolean {
  for (const pem of trustPems) {
    for (const root of trustedCertificates(pem)) {
      if (root.subject !== root.issuer) continue; // not a root
      const anchors =
        root.fingerprint256 === last.fingerprint256 ||
        (root.subject === last.issuer && last.checkIssued(root) && last.verify(root.publicKey));
      if (anchors && isSelfIssued(root)) return true;
    }
  }
  return false;
}

function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}

function safeChain(pem: string): X509Certificate[] {
  try {
    return parseCertificateChain(pem);
  } catch {
    return [];
  }
}
