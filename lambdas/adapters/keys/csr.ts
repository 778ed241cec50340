/**
 * PKCS#10 certificate signing requests (RFC 2986) built with node:crypto and ./der: the subject's
 * CN, a subjectAltName of dNSNames in an extensionRequest attribute (RFC 2985 §5.4.2), signed with
 * the certificate's own key. What acme-client's `crypto.createCsr` did through @peculiar/x509 and
 * asn1js, without loading an ASN.1 framework (bench/cli: ~60 ms of CPU on every renewal).
 */
import { createPublicKey, type KeyObject, sign } from 'node:crypto';
import {
  bitString,
  contextTag,
  ia5Bytes,
  integer,
  isPrintable,
  nullValue,
  octetString,
  oid,
  pem,
  printableString,
  sequence,
  setOf,
  utf8String,
} from './der';

const OID = {
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
} as const;

/** X.520 ub-common-name: a longer first name goes in the SAN only (as Let's Encrypt does). */
const MAX_COMMON_NAME = 64;

export interface CsrInput {
  /** dNSNames, the first one also the subject's CN when it fits in 64 characters. */
  domains: readonly string[];
  /** The certificate's private key (RSA, or ECDSA on P-256, P-384 or P-521). */
  privateKey: KeyObject;
  /** Its public key; derived from the private key when not given. */
  publicKey?: KeyObject;
}

/** The DER of a signed PKCS#10 request. */
export function createCsrDer({ domains, privateKey, publicKey }: CsrInput): Buffer {
  if (domains.length === 0) throw new RangeError('CSR: at least one name is needed');
  const names = domains.map((d) => {
    if (d.length === 0 || d.length > 253) throw new RangeError(`CSR: "${d}" is not a DNS name`);
    return ia5Bytes(d);
  });
  const [hash, signatureAlgorithm] = algorithmFor(privateKey);
  const spki = (publicKey ?? createPublicKey(privateKey)).export({ type: 'spki', format: 'der' });

  const first = domains[0] as string;
  const subject =
    first.length <= MAX_COMMON_NAME
      ? sequence(
          setOf(
            sequence(oid(OID.commonName), isPrintable(first) ? printableString(first) : utf8String(first)),
          ),
        )
      : sequence();
  // GeneralNames: dNSName is [2] IMPLICIT IA5String.
  const generalNames = sequence(...names.map((n) => contextTag(2, n, 'implicit-primitive')));
  const extensions = sequence(sequence(oid(OID.subjectAltName), octetString(generalNames)));
  const attributes = contextTag(
    0,
    sequence(oid(OID.extensionRequest), setOf(extensions)),
    'implicit-constructed',
  );
  const info = sequence(integer(0), subject, spki, attributes);
  // ECDSA signatures come out as DER ECDSA-Sig-Value, as X.509 wants them.
  const signature = sign(hash, info, privateKey);
  return sequence(info, signatureAlgorithm, bitString(signature));
}

/** The PEM (`CERTIFICATE REQUEST`) of a signed PKCS#10 request. */
export function createCsrPem(input: CsrInput): string {
  return pem('CERTIFICATE REQUEST', createCsrDer(input));
}

function algorithmFor(key: KeyObject): [hash: string, algorithmIdentifier: Buffer] {
  if (key.type !== 'private') throw new TypeError('CSR: a private key signs the request');
  if (key.asymmetricKeyType === 'rsa')
    return ['sha256', sequence(oid(OID.sha256WithRSAEncryption), nullValue())];
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    // RFC 5758 §3.2: the parameters field is absent for ecdsa-with-SHA*.
    if (curve === 'prime256v1') return ['sha256', sequence(oid(OID.ecdsaWithSHA256))];
    if (curve === 'secp384r1') return ['sha384', sequence(oid(OID.ecdsaWithSHA384))];
    if (curve === 'secp521r1') return ['sha512', sequence(oid(OID.ecdsaWithSHA512))];
    throw new RangeError(`CSR: unsupported EC curve ${curve ?? 'unknown'}`);
  }
  throw new RangeError(`CSR: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
}
