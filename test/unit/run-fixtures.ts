/**
 * Fixtures of the run tests (test/unit/run-*.test.ts): a small fleet whose clusters answer RS's API
 * from memory (GET /v1/cluster/certificates with each certificate's PEM and key, GET /v1/nodes),
 * the real checkShard over it, and Step Functions' ResultWriter files written as AWS writes them
 * (manifest.json naming SUCCEEDED_n.json / FAILED_n.json / PENDING_n.json, each a JSON array of
 * records whose Input and Output are JSON strings).
 */
import { expect } from 'vitest';
import type { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import { parseConfig } from '../../lambdas/domain/config/schema';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { ClusterConnector, CredentialsProvider } from '../../lambdas/domain/ports';
import type { CheckContext } from '../../lambdas/domain/renewal/steps';
import { MAP_RESULTS_PREFIX } from '../../lambdas/domain/run/objects';
import { checkShard, type ShardEvent } from '../../lambdas/domain/run/shard';
import { issueCertificateSet } from '../sim/rs-simulator';
import { createCa } from '../support/pki';

export const DAY = 86_400_000;
/** The check's clock: every certificate's dates are set from it. */
export const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
export const PASSWORD = 'run-test-password-Zq7!';
export const ACCOUNT = '123456789012';
export const executionArn = (name: string) =>
  `arn:aws:states:eu-west-1:${ACCOUNT}:execution:RsCertWatchdog:${name}`;

/** How long a cluster's certificates have left: every cluster of the fleet names one. */
export type Expiry = 2 | 5 | 9 | 60;
export const EXPIRIES: readonly Expiry[] = [2, 5, 9, 60];

export interface FleetCluster {
  name: string;
  /** Days left of its api and proxy certificates (the others have 200); `unreadable`: answers 401. */
  expiry: Expiry | 'unreadable';
}

/** A fleet config: every cluster manages api and proxy through ACME; `aws` is the config's own. */
export function fleetConfig(
  clusters: readonly Pick<FleetCluster, 'name'>[],
  acme: Record<string, unknown> = {},
  aws?: Record<string, unknown>,
): WatchdogConfig {
  return parseConfig({
    renewBeforeDays: 30,
    acme: {
      directoryUrl: 'https://127.0.0.1:1/directory',
      email: 'ops@example.com',
      ari: false,
      ...acme,
    },
    dns: { provider: 'route53', hostedZoneId: 'Z0123456789ABCDEFGHIJ' },
    alerts: { emails: ['oncall@example.com'] },
    ...(aws ? { aws } : {}),
    clusters: clusters.map(({ name }) => ({
      name,
      endpoint: `https://${name}.redis.example.com:9443`,
      credentialsSecret: `rs-cert-watchdog/clusters/${name}`,
      certificates: {
        proxy: { domains: [`*.${name}.redis.example.com`] },
        api: { domains: [`${name}.redis.example.com`] },
      },
    })),
  }) as WatchdogConfig;
}

let bodies: Promise<Map<Expiry, string>> | undefined;

/** One certificate set per expiry, issued once per test file by a test CA (ECDSA: fast). */
function certificateBodies(): Promise<Map<Expiry, string>> {
  bodies ??= (async () => {
    const ca = await createCa({ commonName: 'run tests CA', keyKind: 'ecdsa' });
    const notBefore = new Date(NOW.getTime() - 30 * DAY);
    const entries = await Promise.all(
      EXPIRIES.map(async (days) => {
        const soon = new Date(NOW.getTime() + days * DAY);
        const later = new Date(NOW.getTime() + 200 * DAY);
        const set = await issueCertificateSet({
          ca,
          nodes: 1,
          certificates: {
            api: { notBefore, notAfter: soon, keyKind: 'ecdsa' },
            proxy: { notBefore, notAfter: soon, keyKind: 'ecdsa' },
            cm: { notBefore, notAfter: later, keyKind: 'ecdsa' },
            syncer: { notBefore, notAfter: later, keyKind: 'ecdsa' },
          },
        });
        const body = JSON.stringify(
          Object.fromEntries(
            Object.entries(set).flatMap(([name, c]) => [
              [`${name}_cert`, c.certPem],
              [`${name}_key`, c.keyPem],
            ]),
          ),
        );
        return [days, body] as const;
      }),
    );
    return new Map(entries);
  })();
  return bodies;
}

const NODES = JSON.stringify([
  {
    uid: 1,
    addr: '10.0.0.1',
    software_version: '7.22.2-28',
    status: 'active',
    supported_database_versions: [],
  },
]);

/** RS's API for every cluster of the fleet, from memory; `requests` counts what each was asked. */
export async function fleetStandIn(
  clusters: readonly FleetCluster[],
): Promise<{ connect: ClusterConnector; requests: Map<string, number> }> {
  const sets = await certificateBodies();
  const byName = new Map(clusters.map((c) => [c.name, c.expiry]));
  const requests = new Map<string, number>();
  const connect: ClusterConnector = (connection) => ({
    async send(method, path) {
      requests.set(connection.cluster, (requests.get(connection.cluster) ?? 0) + 1);
      const expiry = byName.get(connection.cluster);
      if (expiry === undefined) throw new Error(`no cluster ${connection.cluster} in the stand-in`);
      if (expiry === 'unreadable') return { status: 401, body: '{"error_code":"unauthorized"}' };
      if (method === 'GET' && path === '/v1/cluster/certificates')
        return { status: 200, body: sets.get(expiry) as string };
      if (method === 'GET' && path === '/v1/nodes') return { status: 200, body: NODES };
      return { status: 404, body: '{"error_code":"not_found"}' };
    },
    close() {},
  });
  return { connect, requests };
}

export const credentials = {
  async resolve() {
    return { username: 'watchdog@example.com', password: PASSWORD };
  },
} as unknown as CredentialsProvider;

export async function checkContext(
  config: WatchdogConfig,
  clusters: readonly FleetCluster[],
): Promise<CheckContext & { requests: Map<string, number> }> {
  const { connect, requests } = await fleetStandIn(clusters);
  return { config, credentials, connect, now: () => NOW, state: { pending: async () => null }, requests };
}

/** `count` clusters named `<prefix>-000`…, their expiries cycling through `pattern`. */
export function clustersOf(
  count: number,
  pattern: ReadonlyArray<FleetCluster['expiry']>,
  prefix = 'rs',
): FleetCluster[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${String(i).padStart(3, '0')}`,
    expiry: pattern[i % pattern.length] as FleetCluster['expiry'],
  }));
}

/** The check map's child input for a batch of the cluster list (ItemBatcher with BatchInput). */
export function shardEvent(
  names: readonly string[],
  execution: string,
  input: { force?: string[]; dryRun?: boolean } = {},
): ShardEvent {
  return { Items: names.map((cluster) => ({ cluster })), BatchInput: { execution, input } };
}

export interface ChildRecord {
  status: 'SUCCEEDED' | 'FAILED' | 'PENDING';
  input: unknown;
  /** SUCCEEDED: the child's output (serialised as Step Functions does), or raw text as Output. */
  output?: unknown;
  rawOutput?: string;
  error?: string;
  cause?: string;
}

/**
 * Writes a map run's results as Step Functions' ResultWriter does: `<prefix>/<map run id>/`
 * SUCCEEDED_n.json, FAILED_n.json, PENDING_n.json (at most `perFile` records each) and manifest.json.
 * Answers the ResultWriterDetails the Map state returns.
 */
export async function writeMapResults(
  store: MemoryObjectStore,
  mapRunId: string,
  children: readonly ChildRecord[],
  perFile = 2,
): Promise<{ Bucket: string; Key: string }> {
  const base = `${MAP_RESULTS_PREFIX}/${mapRunId}`;
  const mapRunArn = `arn:aws:states:eu-west-1:${ACCOUNT}:mapRun:RsCertWatchdog/${mapRunId}`;
  const files: Record<ChildRecord['status'], Array<{ Key: string; Size: number }>> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    const these = children.filter((c) => c.status === status);
    for (let i = 0, n = 0; i < these.length; i += perFile, n++) {
      const records = these.slice(i, i + perFile).map((c, j) => {
        const name = `${status.toLowerCase()}-${i + j}`;
        return {
          ExecutionArn: `${mapRunArn}:${name}`,
          Input: JSON.stringify(c.input),
          InputDetails: { Included: true },
          Name: name,
          ...(status === 'SUCCEEDED'
            ? { Output: c.rawOutput ?? JSON.stringify(c.output ?? null), OutputDetails: { Included: true } }
            : {}),
          ...(c.error !== undefined ? { Error: c.error } : {}),
          ...(c.cause !== undefined ? { Cause: c.cause } : {}),
          RedriveCount: 0,
          RedriveStatus: status === 'SUCCEEDED' ? 'NOT_REDRIVABLE' : 'REDRIVABLE',
          RedriveStatusReason: status === 'SUCCEEDED' ? 'Execution is SUCCEEDED and cannot be redriven' : '',
          StartDate: NOW.toISOString(),
          StateMachineArn: `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:RsCertWatchdog/Map`,
          Status: status === 'PENDING' ? 'PENDING' : status,
          StopDate: NOW.toISOString(),
        };
      });
      const key = `${base}/${status}_${n}.json`;
      const body = JSON.stringify(records);
      await store.put(key, body, 'application/json');
      files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
  }
  const manifest = `${base}/manifest.json`;
  await store.put(
    manifest,
    JSON.stringify({ DestinationBucket: store.bucket, MapRunArn: mapRunArn, ResultFiles: files }),
    'application/json',
  );
  return { Bucket: store.bucket, Key: manifest };
}

/** A Lambda error as Step Functions records it in a child's Cause. */
export const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({ errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, '    at handler'] });

/** No object of the run holds a key, a PEM, the cluster's password. */
export function expectNoSecrets(store: MemoryObjectStore, prefix = 'runs/'): void {
  const keys = store.keys(prefix);
  expect(keys.length).toBeGreaterThan(0);
  for (const key of keys) {
    const text = store.object(key)?.body.toString('utf8') ?? '';
    expect(text, key).not.toContain('PRIVATE KEY');
    expect(text, key).not.toContain('-----BEGIN');
    expect(text, key).not.toContain(PASSWORD);
  }
}

export const json = async <T>(store: MemoryObjectStore, key: string): Promise<T> => {
  const text = await store.getText(key);
  if (text === null) throw new Error(`no object ${key}`);
  return JSON.parse(text) as T;
};

/** Runs checkShard on each batch of names and answers the map's child records. */
export async function checkShards(
  ctx: CheckContext,
  store: MemoryObjectStore,
  shards: ReadonlyArray<readonly string[]>,
  execution: string,
  input: { force?: string[]; dryRun?: boolean } = {},
): Promise<ChildRecord[]> {
  const records: ChildRecord[] = [];
  for (const names of shards) {
    const event = shardEvent(names, execution, input);
    const { result } = await checkShard(ctx, store, event);
    records.push({ status: 'SUCCEEDED', input: event, output: result });
  }
  return records;
}
