/**
 * The state ports, through the StateStore every step uses, on both backends: the DynamoDB adapter
 * against dynalite (a real implementation of DynamoDB's API, conditional writes included, on
 * loopback) with keys sealed by the KMS stand-in, and the local directory the CLI uses. Same
 * semantics on both: a lock is one conditional write (two racers, one winner; a lease that expires;
 * re-entry by the same owner; no release by a stranger), records and keys round-trip, and only an
 * absent entry reads as absent.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import {
  clearInspectionCache,
  importInspectionMemory,
  inspectChainPem,
} from '../../lambdas/domain/certificate';
import { StateLockedError } from '../../lambdas/domain/errors';
import { recordInspectionMemory } from '../../lambdas/domain/inspection-memory-records';
import type { LockOwner } from '../../lambdas/domain/ports';
import { maxLockLeaseMs } from '../../lambdas/domain/retry';
import { type StatePorts, StateStore, type StoredCertificate } from '../../lambdas/domain/state';
import { createCa, generateKey, issueCert } from '../support/pki';
import { stateBackend } from '../support/state-backend';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const backends: Array<[string, () => Promise<StatePorts>]> = [
  [
    'DynamoDB (dynalite)',
    async () => {
      const backend = await stateBackend();
      const table = `state-test-${randomUUID().slice(0, 8)}`;
      await backend.createTable(table);
      return backend.ports(table);
    },
  ],
  [
    'local directory',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'state-test-'));
      dirs.push(dir);
      return new LocalDirectoryStore(dir);
    },
  ],
];

const owner = (id: string): LockOwner => ({ id, description: `run ${id}` });
const T0 = new Date('2026-12-01T06:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function certificate(name = 'proxy'): Promise<StoredCertificate> {
  const ca = await createCa();
  const leaf = await issueCert({ ca, dnsNames: ['*.redis.example.com'] });
  const details = inspectChainPem(leaf.chainPem);
  return {
    cluster: 'east',
    name,
    domains: ['*.redis.example.com'],
    keyType: 'rsa-2048',
    certificatePem: leaf.chainPem,
    keyPem: leaf.keyPem,
    notAfter: details.notAfter.toISOString(),
    serialNumber: details.serialNumber,
    fingerprint256: details.fingerprint256,
    issuedAt: T0.toISOString(),
    pushedAt: null,
  };
}

describe.each(backends)('state on %s', (_name, open) => {
  it('two runs racing for one lock: exactly one takes it, the others are told who holds it', async () => {
    const state = new StateStore(await open());
    const racers = Array.from({ length: 8 }, (_, i) => owner(`racer-${i}`));
    const outcomes = await Promise.allSettled(
      racers.map((o) => state.lock('east', 'proxy', { owner: o, leaseMs: 60_000, now: T0 })),
    );
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(won).toHaveLength(1);
    const winner = won[0]!.owner.description;
    for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(StateLockedError);
      expect((lost.reason as Error).message).toMatch(
        new RegExp(`being renewed by ${winner}|at the same moment`),
      );
    }
  });

  it('a lease that expires: held until its end, then free for the next taker (the expiry is in the condition)', async () => {
    const state = new StateStore(await open());
    const a = await state.lock('east', 'proxy', { owner: owner('a'), leaseMs: 60_000, now: T0 });
    await expect(
      state.lock('east', 'proxy', { owner: owner('b'), leaseMs: 60_000, now: at(59_999) }),
    ).rejects.toThrow(/being renewed by run a, lock held until 2026-12-01T06:01:00.000Z/);
    const b = await state.lock('east', 'proxy', { owner: owner('b'), leaseMs: 60_000, now: at(60_000) });
    expect(b.owner.id).toBe('b');
    // a's lease ran out and b holds it: a can no longer extend it, and a's step does nothing.
    await expect(state.extend(a, { leaseMs: 60_000, now: at(60_001) })).rejects.toThrow(
      /this run's lock ran out and run b holds it/,
    );
  });

  it('re-entry by the same owner (a Step Functions retry of the same execution) takes it again, with the new lease', async () => {
    const state = new StateStore(await open());
    const execution = owner('arn:aws:states:us-east-1:123456789012:execution:RsCertWatchdog:run-1');
    await state.lock('east', 'proxy', { owner: execution, leaseMs: 60_000, now: T0 });
    const again = await state.lock('east', 'proxy', { owner: execution, leaseMs: 120_000, now: at(30_000) });
    expect(again.expiresAt).toBe(at(150_000).toISOString());
    await expect(
      state.lock('east', 'proxy', { owner: owner('other'), leaseMs: 60_000, now: at(100_000) }),
    ).rejects.toBeInstanceOf(StateLockedError);
  });

  it('a release by a stranger changes nothing; the owner releases it; extending is for the owner only', async () => {
    const state = new StateStore(await open());
    const a = await state.lock('east', 'proxy', { owner: owner('a'), leaseMs: 60_000, now: T0 });
    await state.releaseIfHeld('east', 'proxy', 'stranger');
    await state.unlock({ ...a, owner: owner('stranger') });
    await expect(
      state.lock('east', 'proxy', { owner: owner('b'), leaseMs: 60_000, now: at(1) }),
    ).rejects.toBeInstanceOf(StateLockedError);
    await expect(
      state.extend({ ...a, owner: owner('stranger') }, { leaseMs: 60_000, now: at(2) }),
    ).rejects.toBeInstanceOf(StateLockedError);
    const extended = await state.extend(a, { leaseMs: 90_000, now: at(3) });
    expect(extended.expiresAt).toBe(at(90_003).toISOString());
    await state.unlock(a);
    expect(
      (await state.lock('east', 'proxy', { owner: owner('b'), leaseMs: 60_000, now: at(4) })).owner.id,
    ).toBe('b');
  });

  it('a lease longer than any this product sets is invalid: taken over at once, with a warning', async () => {
    const warnings: string[] = [];
    const state = new StateStore(await open(), { warn: (m) => warnings.push(m) });
    await state.lock('east', 'proxy', {
      owner: owner('forged'),
      leaseMs: Date.UTC(9999, 0) - T0.getTime(),
      now: T0,
    });
    const taken = await state.lock('east', 'proxy', { owner: owner('b'), leaseMs: 60_000, now: at(1) });
    expect(taken.owner.id).toBe('b');
    expect(warnings).toEqual([
      expect.stringMatching(/took over .* from run forged: its lease runs until 9999-/),
    ]);
    // The longest lease the product sets is still honoured.
    await state.unlock(taken);
    await state.lock('east', 'proxy', { owner: owner('c'), leaseMs: maxLockLeaseMs(), now: at(2) });
    await expect(
      state.lock('east', 'proxy', { owner: owner('d'), leaseMs: 60_000, now: at(3) }),
    ).rejects.toBeInstanceOf(StateLockedError);
  });

  it('a holder known to be gone is taken over at once; one alive is not', async () => {
    const warnings: string[] = [];
    const state = new StateStore(await open(), { warn: (m) => warnings.push(m) });
    await state.lock('east', 'proxy', {
      owner: { ...owner('dead'), host: 'h', pid: 4242 },
      leaseMs: 60_000,
      now: T0,
    });
    await expect(
      state.lock('east', 'proxy', { owner: owner('b'), leaseMs: 60_000, now: at(1), ownerAlive: () => true }),
    ).rejects.toBeInstanceOf(StateLockedError);
    const taken = await state.lock('east', 'proxy', {
      owner: owner('b'),
      leaseMs: 60_000,
      now: at(2),
      ownerAlive: (o) => o.id !== 'dead',
    });
    expect(taken.owner.id).toBe('b');
    expect(warnings).toEqual([expect.stringMatching(/from run dead: no process with pid 4242/)]);
  });

  it('keeps a certificate with its key, hands the key only to the readers that ask for it, and updates it without the key', async () => {
    const state = new StateStore(await open());
    expect(await state.issued('east', 'proxy')).toBeNull();
    const cert = await certificate();
    await state.saveIssued(cert);
    expect(await state.issued('east', 'proxy')).toEqual(cert);
    const { keyPem: _key, ...record } = cert;
    expect(await state.issuedRecord('east', 'proxy')).toEqual(record);
    expect(
      await state.updateIssued('east', 'proxy', cert.fingerprint256, { pushedAt: T0.toISOString() }),
    ).toBe(true);
    expect(await state.updateIssued('east', 'proxy', 'another', { verifiedAt: T0.toISOString() })).toBe(
      false,
    );
    expect(await state.issued('east', 'proxy')).toEqual({ ...cert, pushedAt: T0.toISOString() });
    await state.savePrevious({ ...cert, name: 'proxy' });
    expect((await state.previous('east', 'proxy'))?.keyPem).toBe(cert.keyPem);
    // Importing never replaces what is there.
    const older = await certificate();
    expect(await state.importCertificate(older, 'current')).toBe(false);
    expect((await state.issued('east', 'proxy'))?.fingerprint256).toBe(cert.fingerprint256);
  });

  it('reads every pending marker at once, and forgets a cleared one', async () => {
    const state = new StateStore(await open());
    const marker = { fingerprint256: 'AA:BB', phase: 'pushed' as const, at: new Date().toISOString() };
    await state.markPending('east', 'proxy', marker);
    await state.markPending('west/1', 'api', { ...marker, phase: 'pushing' });
    const lookup = await state.pendingMarkers();
    expect(lookup('east', 'proxy')).toEqual(marker);
    expect(lookup('west/1', 'api')).toMatchObject({ phase: 'pushing' });
    expect(lookup('east', 'api')).toBeNull();
    await state.clearPending('east', 'proxy');
    expect(await state.pending('east', 'proxy')).toBeNull();
    expect((await state.pendingMarkers())('east', 'proxy')).toBeNull();
  });

  it('does not return an entry past its expiry, whether or not it was cleaned up yet', async () => {
    const ports = await open();
    await ports.records.put(
      { partition: 'pushes/east', sort: 'old' },
      { id: 'old' },
      { expiresAt: new Date(Date.now() - 1000) },
    );
    await ports.records.put(
      { partition: 'pushes/east', sort: 'new' },
      { id: 'new' },
      { expiresAt: new Date(Date.now() + 60_000) },
    );
    expect(await ports.records.get({ partition: 'pushes/east', sort: 'old' })).toBeNull();
    expect((await ports.records.list('pushes/east')).map((e) => e.sort)).toEqual(['new']);
    expect(await ports.records.create({ partition: 'pushes/east', sort: 'old' }, { id: 'again' })).toBe(true);
  });

  it('concurrent first runs share one ACME account: one is recorded, the other told so, and its key removed', async () => {
    const state = new StateStore(await open());
    const account = (keyPem: string) => ({
      directoryUrl: 'https://acme.example/directory',
      accountKeyPem: keyPem,
      accountUrl: null,
      email: 'ops@example.com',
      createdAt: T0.toISOString(),
    });
    const [k1, k2] = await Promise.all([generateKey('ecdsa', true), generateKey('ecdsa', true)]);
    const created = await Promise.all([
      state.createAccount(account(k1.keyPem)),
      state.createAccount(account(k2.keyPem)),
    ]);
    expect(created.filter(Boolean)).toHaveLength(1);
    const winner = created[0] ? k1.keyPem : k2.keyPem;
    expect((await state.account('https://acme.example/directory'))?.accountKeyPem).toBe(winner);
    await state.saveAccount({ ...account(winner), accountUrl: 'https://acme.example/acct/1' });
    expect(await state.account('https://acme.example/directory')).toMatchObject({
      accountUrl: 'https://acme.example/acct/1',
      accountKeyPem: winner,
    });
  });

  it('keeps the inspection memory between processes, in shards', async () => {
    const ports = await open();
    clearInspectionCache();
    const ca = await createCa();
    for (let i = 0; i < 3; i++)
      inspectChainPem((await issueCert({ ca, dnsNames: [`n${i}.example.com`] })).chainPem);
    await recordInspectionMemory(ports.records).save();
    clearInspectionCache();
    expect(await recordInspectionMemory(ports.records).load()).toBe(3);
    expect(importInspectionMemory({ version: 1, leaves: {}, keyMatches: {} })).toBe(0);
  });
});

describe('the DynamoDB adapter: only an absent item is "absent"', () => {
  const fresh = async () => {
    const backend = await stateBackend();
    const table = `state-test-${randomUUID().slice(0, 8)}`;
    await backend.createTable(table);
    return { backend, table, state: backend.store(table) };
  };

  it('keeps keys sealed: the table holds no PEM, and a sealed key moved to another item does not open', async () => {
    const { backend, table, state } = await fresh();
    const cert = await certificate();
    await state.saveIssued(cert);
    const items = (
      await backend
        .client()
        .send<{ Items: Array<Record<string, { S?: string }>> }>('Scan', { TableName: table })
    ).Items;
    expect(JSON.stringify(items)).not.toContain('PRIVATE KEY');
    const keyItem = items.find((i) => i.pk?.S?.startsWith('keys/'))!;
    await backend.client().send('PutItem', {
      TableName: table,
      Item: { ...keyItem, sk: { S: `api/${keyItem.sk!.S!.split('/')[1]}` } },
    });
    await backend.client().send('PutItem', {
      TableName: table,
      Item: {
        pk: { S: 'certificates/east' },
        sk: { S: 'api/current' },
        value: {
          S: JSON.stringify({
            ...cert,
            name: 'api',
            keyPem: undefined,
            keyRef: keyItem.sk!.S!.split('/')[1],
          }),
        },
      },
    });
    await expect(state.issued('east', 'api')).rejects.toMatchObject({
      name: 'StateStoreError',
      message: expect.stringMatching(
        /cannot unseal the key keys\/certificates\/east\/api\/.*InvalidCiphertextException/,
      ),
    });
  });

  it.each([
    ['AccessDeniedException', 'GetItem', /grant this function access/],
    ['ResourceNotFoundException', 'GetItem', /does not exist: deploy the stack/],
    ['ProvisionedThroughputExceededException', 'GetItem', /DynamoDB availability/],
  ])('%s on %s is a StateStoreError, never "absent"', async (error, operation, hint) => {
    const { backend, table, state } = await fresh();
    backend.refuse({ table, operation, error });
    try {
      await expect(state.pending('east', 'proxy')).rejects.toMatchObject({
        name: 'StateStoreError',
        hint: expect.stringMatching(hint),
      });
      await expect(state.issuedRecord('east', 'proxy')).rejects.toMatchObject({ name: 'StateStoreError' });
    } finally {
      backend.clearFaults();
    }
  });

  it('a throttle is retried; a KMS failure on a key is an error with a hint, never "no key"', async () => {
    const { backend, table, state } = await fresh();
    const cert = await certificate();
    backend.refuse({ table, operation: 'PutItem', error: 'ThrottlingException', times: 2 });
    await state.saveIssued(cert);
    backend.kms.refuse({ operation: 'Decrypt', error: 'AccessDeniedException', times: 1 });
    await expect(state.issued('east', 'proxy')).rejects.toMatchObject({
      name: 'StateStoreError',
      message: expect.stringContaining('AccessDeniedException'),
      hint: expect.stringMatching(/kms:Decrypt/),
    });
    backend.kms.refuse({ operation: 'Decrypt', error: 'DisabledException', times: 1 });
    await expect(state.issued('east', 'proxy')).rejects.toMatchObject({
      hint: expect.stringMatching(/enable it/),
    });
    expect((await state.issued('east', 'proxy'))?.keyPem).toBe(cert.keyPem);
  });

  it('a function without the key sealer (check) reads records and refuses keys', async () => {
    const { backend, table, state } = await fresh();
    await state.saveIssued(await certificate());
    const check = backend.store(table, { keys: false });
    expect((await check.issuedRecord('east', 'proxy'))?.name).toBe('proxy');
    await expect(check.issued('east', 'proxy')).rejects.toMatchObject({
      name: 'StateStoreError',
      message: expect.stringMatching(/no access to keys/),
    });
  });
});
