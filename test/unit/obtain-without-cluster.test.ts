/**
 * Issue 18, item 11, at the source level: Issue decides about a saved, verified certificate that
 * the cluster did not serve at this run's check WITHOUT reading the cluster (on AWS it has neither
 * the cluster's credentials nor its network). The check's time, carried in the due item, against
 * the saved certificate's verification time tells whether another run finished it since.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/secret-store';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { AlreadyRenewedError } from '../../lambdas/domain/errors';
import type { DueCertificate, RenewalContext } from '../../lambdas/domain/renewal/context';
import { obtainCertificate } from '../../lambdas/domain/renewal/obtain';
import { StateStore, type StoredCertificate } from '../../lambdas/domain/state';
import { createCa, issueCert } from '../support/pki';
import { daysFromNow } from '../support/world';

const DOMAINS = ['*.redis.example.com'];
const MINUTE = 60_000;

let dir: string;
let state: StateStore;
let saved: StoredCertificate;
let onCluster: StoredCertificate;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'obtain-'));
  state = new StateStore(new LocalDirectoryStore(dir));
  const ca = await createCa({ commonName: 'Obtain test CA' });
  const certificate = async (notBefore: Date, notAfter: Date): Promise<StoredCertificate> => {
    const cert = await issueCert({ ca, dnsNames: DOMAINS, notBefore, notAfter });
    return {
      cluster: 'east',
      name: 'proxy',
      domains: DOMAINS,
      keyType: 'rsa-2048',
      certificatePem: cert.chainPem,
      keyPem: cert.keyPem,
      notAfter: cert.notAfter.toISOString(),
      serialNumber: cert.serialNumber,
      fingerprint256: cert.fingerprint256,
      issuedAt: cert.notBefore.toISOString(),
      pushedAt: null,
    };
  };
  saved = await certificate(daysFromNow(-1), daysFromNow(89));
  // What an operator put on the cluster since: expiring in 5 days, so due.
  onCluster = await certificate(daysFromNow(-85), daysFromNow(5));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A context in which reading the cluster or ordering fails the test. */
function context(): RenewalContext {
  const config = {
    renewBeforeDays: 30,
    acme: { directoryUrl: 'https://acme.example.com/directory', email: 'ops@example.com' },
    clusters: [
      {
        name: 'east',
        endpoint: 'https://cluster.example.com:9443',
        certificates: { proxy: { domains: DOMAINS, keyType: 'rsa-2048' } },
      },
    ],
  } as unknown as WatchdogConfig;
  const refuse = (what: string) => () => {
    throw new Error(`Issue must not ${what}`);
  };
  return {
    config,
    credentials: { resolve: refuse('read the cluster credentials') },
    connect: refuse('connect to the cluster'),
    probe: refuse('probe the cluster'),
    state,
    notifier: { send: refuse('alert') },
    issuer: refuse('order a certificate'),
    acmeTrustPem: undefined,
    publicRootPems: [],
    lockOwner: { id: 'test', description: 'the test' },
    now: () => new Date(),
    sleep: async () => undefined,
  } as unknown as RenewalContext;
}

const due = (checkedAt: Date): DueCertificate => ({
  cluster: 'east',
  certificate: 'proxy',
  status: 'expiring',
  forced: false,
  currentNotAfter: onCluster.notAfter,
  currentFingerprint256: onCluster.fingerprint256,
  checkedAt: checkedAt.toISOString(),
});

describe('a saved, verified certificate the cluster did not serve at the check', () => {
  it('verified after the check: another run renewed it since; left alone, without reading the cluster', async () => {
    const checkedAt = new Date(Date.now() - 2 * MINUTE);
    await state.saveIssued({ ...saved, verifiedAt: new Date(Date.now() - MINUTE).toISOString() });
    await expect(obtainCertificate(context(), due(checkedAt))).rejects.toThrow(AlreadyRenewedError);
  });

  it('verified before the check: the cluster was changed since; the saved certificate goes back, without reading the cluster', async () => {
    const checkedAt = new Date(Date.now() - MINUTE);
    await state.saveIssued({ ...saved, verifiedAt: new Date(Date.now() - 10 * MINUTE).toISOString() });
    const { certificate, reused } = await obtainCertificate(context(), due(checkedAt));
    expect(reused).toBe(true);
    expect(certificate.fingerprint256).toBe(saved.fingerprint256);
  });

  it('a due item without the check time (an execution started before the upgrade) is renewed', async () => {
    await state.saveIssued({ ...saved, verifiedAt: new Date().toISOString() });
    const { checkedAt: _c, ...legacy } = due(new Date());
    await expect(obtainCertificate(context(), legacy)).resolves.toMatchObject({ reused: true });
  });
});
