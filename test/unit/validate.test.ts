import { describe, expect, it } from 'vitest';
import { CertificateValidationError } from '../../lambdas/domain/errors';
import { validateForPush } from '../../lambdas/domain/validate';
import { createCa, type IssueCertOptions, issueCert } from '../support/pki';

const now = new Date();
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);

async function pki() {
  const root = await createCa({ commonName: 'Validation Root' });
  const intermediate = await createCa({ commonName: 'Validation Intermediate', issuer: root });
  const issue = (o: Partial<IssueCertOptions> = {}) =>
    issueCert({
      ca: intermediate,
      chain: [intermediate],
      dnsNames: ['redis.example.com'],
      notBefore: days(-1),
      notAfter: days(90),
      ...o,
    });
  return { root, intermediate, issue };
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof CertificateValidationError) return error.failure;
    throw error;
  }
  return 'passed';
}

describe('validateForPush', () => {
  it('accepts a complete, valid, later certificate for the configured domains', async () => {
    const { root, issue } = await pki();
    const old = await issue({ notAfter: days(5) });
    const next = await issue();
    const details = validateForPush(
      { name: 'proxy', certificatePem: next.chainPem, keyPem: next.keyPem, domains: ['redis.example.com'] },
      { certificatePem: old.chainPem },
      { now, trustPems: [root.certPem] },
    );
    expect(details.fingerprint256).toBe(next.fingerprint256);
  });

  it('accepts a new key whose certificate expires in the same second as the current one (a forced re-key)', async () => {
    const { root, issue } = await pki();
    const old = await issue({ notAfter: days(90) });
    const next = await issue({ notAfter: days(90) });
    expect(
      failure(() =>
        validateForPush(
          {
            name: 'proxy',
            certificatePem: next.chainPem,
            keyPem: next.keyPem,
            domains: ['redis.example.com'],
          },
          { certificatePem: old.chainPem },
          { now, trustPems: [root.certPem] },
        ),
      ),
    ).toBe('passed');
  });

  it.each([
    ['key-mismatch', 'a key from another certificate'],
    ['chain-incomplete', 'a leaf without its intermediate'],
    ['chain-incomplete', 'a chain in the wrong order'],
    ['not-yet-valid', 'a certificate from the future'],
    ['expired', 'an expired certificate'],
    ['domains-missing', 'a certificate for other names'],
    ['domains-missing', 'a certificate that drops a name the old one had'],
    ['not-later', 'a certificate that expires sooner than the current one'],
    ['usage-dropped', 'a serverAuth-only certificate for syncer'],
    ['usage-dropped', 'a clientAuth-only certificate for proxy'],
  ])('refuses %s: %s', async (expected, label) => {
    const { root, intermediate, issue } = await pki();
    const old = await issue({ notAfter: days(5) });
    let name = 'proxy';
    let candidate = await issue();
    let certificatePem = candidate.chainPem;
    let keyPem = candidate.keyPem;
    let replaced = old.chainPem;
    switch (label) {
      case 'a key from another certificate':
        keyPem = (await issue({ freshKey: true })).keyPem;
        break;
      case 'a leaf without its intermediate':
        certificatePem = candidate.certPem;
        break;
      case 'a chain in the wrong order':
        certificatePem = `${intermediate.certPem}${candidate.certPem}`;
        break;
      case 'a certificate from the future':
        candidate = await issue({ notBefore: days(2) });
        ({ chainPem: certificatePem, keyPem } = candidate);
        break;
      case 'an expired certificate':
        candidate = await issue({ notBefore: days(-30), notAfter: days(-1) });
        ({ chainPem: certificatePem, keyPem } = candidate);
        replaced = (await issue({ notBefore: days(-60), notAfter: days(-2) })).chainPem;
        break;
      case 'a certificate for other names':
        candidate = await issue({ dnsNames: ['other.example.com'] });
        ({ chainPem: certificatePem, keyPem } = candidate);
        break;
      case 'a certificate that drops a name the old one had':
        replaced = (await issue({ dnsNames: ['redis.example.com', 'legacy.example.com'], notAfter: days(5) }))
          .chainPem;
        break;
      case 'a certificate that expires sooner than the current one':
        replaced = (await issue({ notAfter: days(200) })).chainPem;
        break;
      case 'a serverAuth-only certificate for syncer':
        name = 'syncer';
        candidate = await issue({ extKeyUsage: ['serverAuth'] });
        ({ chainPem: certificatePem, keyPem } = candidate);
        break;
      case 'a clientAuth-only certificate for proxy':
        candidate = await issue({ extKeyUsage: ['clientAuth'] });
        ({ chainPem: certificatePem, keyPem } = candidate);
        break;
    }
    expect(
      failure(() =>
        validateForPush(
          { name, certificatePem, keyPem, domains: ['redis.example.com'] },
          { certificatePem: replaced },
          { now, trustPems: [root.certPem] },
        ),
      ),
    ).toBe(expected);
  });

  // The syncer acts as a TLS client (Active-Active, Replica Of): its peers refuse it without
  // clientAuth, and RS 8.0.10 refuses such internal certificates at upload. What it replaces does not matter.
  it('refuses a serverAuth-only certificate for syncer, even when the one it replaces never had clientAuth', async () => {
    const { root, issue } = await pki();
    const old = await issue({ notAfter: days(5), extKeyUsage: ['serverAuth'] });
    const next = await issue({ extKeyUsage: ['serverAuth'] });
    expect(
      failure(() =>
        validateForPush(
          {
            name: 'syncer',
            certificatePem: next.chainPem,
            keyPem: next.keyPem,
            domains: ['redis.example.com'],
          },
          { certificatePem: old.chainPem },
          { now, trustPems: [root.certPem] },
        ),
      ),
    ).toBe('usage-missing');
  });

  it('checks every certificate of the chain, not only the leaf: each issuer a CA, each valid now', async () => {
    const { root, issue } = await pki();
    const push = (name: string, chainPem: string, keyPem: string, trust = root.certPem) =>
      failure(() =>
        validateForPush({ name, certificatePem: chainPem, keyPem, domains: ['redis.example.com'] }, null, {
          now,
          trustPems: [trust],
        }),
      );
    const tomorrow = await createCa({ commonName: 'Starts tomorrow', issuer: root, notBefore: days(1) });
    const early = await issueCert({ ca: tomorrow, chain: [tomorrow], dnsNames: ['redis.example.com'] });
    expect(push('proxy', early.chainPem, early.keyPem)).toBe('not-yet-valid');
    const expiredCa = await createCa({
      commonName: 'Ended yesterday',
      issuer: root,
      notBefore: days(-30),
      notAfter: days(-1),
    });
    const late = await issueCert({ ca: expiredCa, chain: [expiredCa], dnsNames: ['redis.example.com'] });
    expect(push('proxy', late.chainPem, late.keyPem)).toBe('expired');
    // Issued by a certificate that is not a CA: the signature checks out, the issuer may not issue.
    const notCa = await createCa({ commonName: 'Not a CA', issuer: root, isCa: false });
    const signedByLeaf = await issueCert({ ca: notCa, chain: [notCa], dnsNames: ['redis.example.com'] });
    expect(push('proxy', signedByLeaf.chainPem, signedByLeaf.keyPem)).toBe('not-a-ca');
    // A leaf without serverAuth cannot serve; one without clientAuth cannot be the syncer.
    const clientOnly = await issue({ extKeyUsage: ['clientAuth'] });
    expect(push('proxy', clientOnly.chainPem, clientOnly.keyPem)).toBe('usage-missing');
    expect(push('ldap_client', clientOnly.chainPem, clientOnly.keyPem)).toBe('passed');
    const serverOnly = await issue({ extKeyUsage: ['serverAuth'] });
    expect(push('syncer', serverOnly.chainPem, serverOnly.keyPem)).toBe('usage-missing');
    expect(push('proxy', serverOnly.chainPem, serverOnly.keyPem)).toBe('passed');
  });

  it('does not count an intermediate in the trust file as an anchor', async () => {
    const { root, intermediate, issue } = await pki();
    const next = await issue();
    const trust = `${root.certPem}${intermediate.certPem}`;
    expect(
      failure(() =>
        validateForPush(
          {
            name: 'proxy',
            certificatePem: next.certPem,
            keyPem: next.keyPem,
            domains: ['redis.example.com'],
          },
          null,
          { now, trustPems: [trust] },
        ),
      ),
    ).toBe('chain-incomplete');
  });

  it('requires an api certificate to cover the name the watchdog connects by', async () => {
    const { root, issue } = await pki();
    const next = await issue();
    const run = (connectName: string) =>
      failure(() =>
        validateForPush(
          {
            name: 'api',
            certificatePem: next.chainPem,
            keyPem: next.keyPem,
            domains: ['redis.example.com'],
            connectName,
          },
          null,
          { now, trustPems: [root.certPem] },
        ),
      );
    expect(run('redis.example.com')).toBe('passed');
    expect(run('10.0.0.5')).toBe('domains-missing');
    expect(run('cluster.internal.example.com')).toBe('domains-missing');
  });
});
