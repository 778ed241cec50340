/**
 * The last check before a push: the candidate verified by a TLS handshake on loopback with a peer
 * holding its peers' trust (adapters/tls/handshake.ts), as its real clients' OpenSSL will verify it.
 * Each chain here passes every rule node:crypto can check, and a real client still refuses it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadX509 } from '../../lambdas/adapters/local-ca/x509';
import { verifyByHandshake } from '../../lambdas/adapters/tls/handshake';
import { CertificateValidationError } from '../../lambdas/domain/errors';
import { checkWithPeers } from '../../lambdas/domain/renewal/push';
import { createCa, issueCert, type TestCa } from '../support/pki';

const DAY = 86_400_000;
const ctx = { handshake: verifyByHandshake };

async function refusal(name: string, chainPem: string, keyPem: string, trust: string[]) {
  const error = await checkWithPeers(ctx, { name, certificatePem: chainPem, keyPem }, trust).catch(
    (e: unknown) => e,
  );
  if (error === undefined) return 'accepted';
  expect(error).toBeInstanceOf(CertificateValidationError);
  return { failure: (error as CertificateValidationError).failure, message: (error as Error).message };
}

describe('checkWithPeers: a handshake with the peers\u2019 trust', () => {
  let root: TestCa;
  beforeAll(async () => {
    root = await createCa({ commonName: 'Peers Root' });
  });

  it('accepts a sound chain, as a server and (syncer) as a client, RSA and ECDSA', async () => {
    const rsa = await issueCert({ ca: root, dnsNames: ['api.example.com'] });
    expect(await refusal('api', rsa.chainPem, rsa.keyPem, [root.certPem])).toBe('accepted');
    expect(await refusal('syncer', rsa.chainPem, rsa.keyPem, [root.certPem])).toBe('accepted');
    const ecRoot = await createCa({ commonName: 'Peers EC Root', keyKind: 'ecdsa' });
    const ec = await issueCert({ ca: ecRoot, dnsNames: ['syncer.example.com'], keyKind: 'ecdsa' });
    expect(await refusal('syncer', ec.chainPem, ec.keyPem, [ecRoot.certPem])).toBe('accepted');
  });

  it('refuses a CA whose name constraints exclude the name', async () => {
    const ca = await createCa({
      commonName: 'Constrained CA',
      nameConstraints: { excluded: ['example.com'] },
    });
    const leaf = await issueCert({ ca, dnsNames: ['api.example.com'] });
    expect(await refusal('api', leaf.chainPem, leaf.keyPem, [ca.certPem])).toEqual({
      failure: 'name-constraints',
      message: expect.stringMatching(
        /^api: a TLS client holding the trust its clients have refused it in a handshake: excluded subtree violation/,
      ),
    });
    const permitted = await createCa({
      commonName: 'Other-only CA',
      nameConstraints: { permitted: ['other.org'] },
    });
    const outside = await issueCert({ ca: permitted, dnsNames: ['api.example.com'] });
    expect(await refusal('api', outside.chainPem, outside.keyPem, [permitted.certPem])).toMatchObject({
      failure: 'name-constraints',
      message: expect.stringContaining('permitted subtree violation'),
    });
  });

  it('refuses a CA not valid until tomorrow', async () => {
    const ca = await createCa({ commonName: 'Tomorrow CA', notBefore: new Date(Date.now() + DAY) });
    const leaf = await issueCert({ ca, dnsNames: ['api.example.com'] });
    expect(await refusal('api', leaf.chainPem, leaf.keyPem, [ca.certPem])).toMatchObject({
      failure: 'not-yet-valid',
      message: expect.stringContaining('certificate is not yet valid (CERT_NOT_YET_VALID)'),
    });
  });

  it('refuses a path length violation', async () => {
    const top = await createCa({ commonName: 'Pathlen 0 Root', pathLength: 0 });
    const intermediate = await createCa({ commonName: 'Below Pathlen 0', issuer: top });
    const leaf = await issueCert({ ca: intermediate, dnsNames: ['api.example.com'], chain: [intermediate] });
    expect(await refusal('proxy', leaf.chainPem, leaf.keyPem, [top.certPem])).toMatchObject({
      failure: 'path-length',
      message: expect.stringContaining('path length constraint exceeded (PATH_LENGTH_EXCEEDED)'),
    });
  });

  it('refuses a CA without keyCertSign', async () => {
    const { KeyUsageFlags } = await loadX509();
    const ca = await createCa({
      commonName: 'No keyCertSign CA',
      keyUsage: KeyUsageFlags.digitalSignature | KeyUsageFlags.cRLSign,
    });
    const leaf = await issueCert({ ca, dnsNames: ['api.example.com'] });
    expect(await refusal('api', leaf.chainPem, leaf.keyPem, [ca.certPem])).toMatchObject({
      failure: 'not-a-ca',
      message: expect.stringContaining('key usage does not include certificate signing'),
    });
  });

  it('refuses a leaf without serverAuth to serve, and one without clientAuth to connect', async () => {
    const clientOnly = await issueCert({
      ca: root,
      dnsNames: ['api.example.com'],
      extKeyUsage: ['clientAuth'],
    });
    expect(await refusal('api', clientOnly.chainPem, clientOnly.keyPem, [root.certPem])).toMatchObject({
      failure: 'usage-missing',
      message: expect.stringMatching(
        /^api: a TLS client .* unsuitable certificate purpose \(INVALID_PURPOSE\)/,
      ),
    });
    // ldap_client only connects: clientAuth alone is what it needs.
    expect(await refusal('ldap_client', clientOnly.chainPem, clientOnly.keyPem, [root.certPem])).toBe(
      'accepted',
    );
    const serverOnly = await issueCert({
      ca: root,
      dnsNames: ['syncer.example.com'],
      extKeyUsage: ['serverAuth'],
    });
    expect(await refusal('syncer', serverOnly.chainPem, serverOnly.keyPem, [root.certPem])).toMatchObject({
      failure: 'usage-missing',
      message: expect.stringMatching(
        /^syncer: a TLS server holding the trust of the servers it connects to refused it/,
      ),
    });
  });

  it('refuses a chain its peers do not trust; a client certificate is trusted by the given roots alone', async () => {
    const leaf = await issueCert({ ca: root, dnsNames: ['api.example.com'] });
    expect(await refusal('api', leaf.chainPem, leaf.keyPem, [])).toMatchObject({ failure: 'untrusted-root' });
    // As a client: the servers it meets trust their own CA, not the public roots.
    const elsewhere = await createCa({ commonName: 'Another Root' });
    expect(await refusal('ldap_client', leaf.chainPem, leaf.keyPem, [elsewhere.certPem])).toMatchObject({
      failure: 'untrusted-root',
    });
  });
});
