// Bundled in place of acme-client's `src/crypto/index.js` (scripts/build-cli.mjs, through
// ./acme-client-crypto-plugin.mjs). acme-client's client requires that module at load for four small
// helpers (JWK of the account key, PEM splitting, a PEM body as base64url, a certificate's names and
// dates); the module itself loads @peculiar/x509 1.x, asn1js, pvtsutils, tsyringe and
// reflect-metadata (~60 ms of CPU on every renewal; bench/cli). These are the same helpers on
// node:crypto. The CSR is built by lambdas/adapters/keys/csr.ts; every helper acme-client offers but
// rs-cert-watchdog does not call throws, naming this file.
'use strict';
const { createPublicKey, X509Certificate } = require('node:crypto');

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

const asText = (pem) => (Buffer.isBuffer(pem) ? pem.toString('utf8') : String(pem));

/** The JWK of a key's public part, members sorted (the thumbprint and the JWS header need it so). */
function getJwk(keyPem) {
  const jwk = createPublicKey(keyPem).export({ format: 'jwk' });
  return Object.fromEntries(
    Object.keys(jwk)
      .sort()
      .map((k) => [k, jwk[k]]),
  );
}

/** Each PEM block of a chain, armour included, in order. */
function splitPemChain(chainPem) {
  return [...asText(chainPem).matchAll(PEM_BLOCK)].map(
    (m) =>
      `-----BEGIN ${m[1]}-----\n${m[2]
        .replace(/\s+/g, '')
        .match(/.{1,64}/g)
        .join('\n')}\n-----END ${m[1]}-----`,
  );
}

function getPemBodyAsB64u(pem) {
  const first = asText(pem).matchAll(PEM_BLOCK).next().value;
  if (!first) throw new Error('Unable to parse PEM body from string');
  return Buffer.from(first[2].replace(/\s+/g, ''), 'base64').toString('base64url');
}

/** The CN of an X509Certificate's distinguished name (node prints one attribute a line). */
function commonNameOf(name) {
  const cn = name
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .pop();
  return cn ? cn.slice(3) : null;
}

function readCertificateInfo(certPem) {
  const cert = new X509Certificate(splitPemChain(certPem)[0] ?? asText(certPem));
  const altNames = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:') || n.startsWith('IP Address:'))
    .map((n) => n.slice(n.indexOf(':') + 1));
  return {
    issuer: { commonName: commonNameOf(cert.issuer) },
    domains: { commonName: commonNameOf(cert.subject), altNames },
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

const unused = (name) => () => {
  throw new Error(
    `acme-client's crypto.${name} is not bundled (lambdas/bundling/acme-client-crypto.cjs): rs-cert-watchdog makes keys and CSRs with node:crypto`,
  );
};

module.exports = {
  getJwk,
  splitPemChain,
  getPemBodyAsB64u,
  readCertificateInfo,
  createPrivateRsaKey: unused('createPrivateRsaKey'),
  createPrivateKey: unused('createPrivateKey'),
  createPrivateEcdsaKey: unused('createPrivateEcdsaKey'),
  getPublicKey: unused('getPublicKey'),
  readCsrDomains: unused('readCsrDomains'),
  createCsr: unused('createCsr'),
  createAlpnCertificate: unused('createAlpnCertificate'),
  isAlpnCertificateAuthorizationValid: unused('isAlpnCertificateAuthorizationValid'),
};
