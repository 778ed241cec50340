/**
 * Issue 19's bound, executed: a fleet of 20,000 clusters, every managed certificate due (a CA
 * incident, a first deploy), run through the SYNTHESIZED definition. Every state's input and output
 * stays under Step Functions' 256 KiB, every Lambda response under 6 MB, every execution's history
 * under 25,000 events.
 *
 * How it runs: the definition's two Distributed Maps are played by test/support/distributed-map.ts
 * (ItemReader, ItemBatcher, ResultWriter against an in-memory S3), each child execution a run of the
 * child definition by aws-local-stepfunctions. The steps are the product's handlers (check shards,
 * Gather, NotifyFindings, NotifyRenewed, NotifyDigest), in this process: 400 check shards and 20,000
 * renewal children cannot each be a Node process. The clusters are an in-process stand-in of RS's
 * API (their certificates issued once by a test CA, served from memory). Issue, Push, Verify and
 * ActiveActive are stand-ins that answer what the real steps answer for a renewed batch (a
 * RenewalStep per certificate, the push's description): what they do is tested against Pebble and
 * the RS simulator elsewhere; here only the sizes of what flows matter.
 *
 * Every renewal child runs through aws-local-stepfunctions when it is one of the first 200 or one of
 * the failure paths; the others run the same handlers in the same order directly (the execution
 * engine is the cost: ~20 ms a child), and their event count is that of the executed happy path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/in-memory';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { RunDigest } from '../../lambdas/domain/digest';
import type { Alert, ClusterConnector, CredentialsProvider } from '../../lambdas/domain/ports';
import type { RenewalContext } from '../../lambdas/domain/renewal/context';
import type { CheckContext, ClusterBatch, RenewalStep } from '../../lambdas/domain/renewal/steps';
import { CLUSTER_LIST_KEY, clusterList, type RunSummary } from '../../lambdas/domain/run/objects';
import { StateStore } from '../../lambdas/domain/state';
import { STATE_NAMES } from '../../lib/workflow';
import { issueCertificateSet } from '../sim/rs-simulator';
import {
  type ChildRun,
  type EventLog,
  type MapRunRecord,
  runLocalExecution,
  withDistributedMaps,
} from '../support/distributed-map';
import { createCa } from '../support/pki';
import { synthesizedDefinition } from '../support/synthesized-definition';
import { fleetConfig } from '../unit/run-fixtures';

const CLUSTERS = Number(process.env.FLEET_CLUSTERS ?? 20_000);
const STATE_LIMIT = 256 * 1024;
const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;
const HISTORY_LIMIT = 25_000;
const EXECUTED_CHILDREN = Number(process.env.FLEET_EXECUTED ?? 200);

// The handlers log and publish EMF as on Lambda: 120,000 certificate records would only fill the test's output.
vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
vi.stubEnv('AWS_REGION', 'us-east-1');
vi.setConfig({ testTimeout: 600_000, hookTimeout: 600_000 });

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

/** 20,000 clusters, each with api and proxy managed through ACME (DNS-01 on Route 53). */
function fleetConfigOf20000(): WatchdogConfig {
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({
    name: `cluster-${String(i).padStart(5, '0')}`,
  }));
  return fleetConfig(clusters, {}, { mapConcurrency: 40 });
}

/**
 * RS's API for every cluster, from memory: GET /v1/cluster/certificates (six certificates, all
 * expiring in 5 days: every managed one is due) and GET /v1/nodes (RS 7.22.2, one node). Eight
 * distinct certificate sets, so the inspection caches meet several certificates, as on a real fleet.
 */
async function fleetStandIn(): Promise<ClusterConnector> {
  const ca = await createCa({ commonName: 'fleet-20000 test CA' });
  // 90-day certificates with 5 days left: past any renewal point.
  const notAfter = new Date(Date.now() + 5 * 86_400_000);
  const notBefore = new Date(Date.now() - 85 * 86_400_000);
  const sets = await Promise.all(
    Array.from({ length: 8 }, () =>
      issueCertificateSet({
        ca,
        nodes: 1,
        certificates: Object.fromEntries(
          ['api', 'cm', 'proxy', 'syncer', 'metrics_exporter', 'ldap_client'].map((n) => [
            n,
            { notBefore, notAfter },
          ]),
        ),
      }),
    ),
  );
  const bodies = sets.map((set) =>
    JSON.stringify(
      Object.fromEntries(
        Object.entries(set).flatMap(([name, c]) => [
          [`${name}_cert`, c.certPem],
          [`${name}_key`, c.keyPem],
        ]),
      ),
    ),
  );
  const nodes = JSON.stringify([
    {
      uid: 1,
      addr: '10.0.0.1',
      software_version: '7.22.2-28',
      status: 'active',
      supported_database_versions: [],
    },
  ]);
  return (connection) => {
    const index = Number(connection.cluster.slice(-5)) % bodies.length;
    return {
      async send(method, path) {
        if (method === 'GET' && path === '/v1/cluster/certificates')
          return { status: 200, body: bodies[index] as string };
        if (method === 'GET' && path === '/v1/nodes') return { status: 200, body: nodes };
        return { status: 404, body: '{"error_code":"not_found"}' };
      },
      close() {},
    };
  };
}

const credentials: CredentialsProvider = {
  async resolve() {
    return { username: 'watchdog@example.com', password: 'not-a-real-password' };
  },
} as unknown as CredentialsProvider;

interface Measured {
  /** The largest input and output of any state, by state name. */
  states: Map<string, number>;
  lambdaResponses: Map<string, number>;
  histories: Array<{ execution: string; events: number }>;
  mapRuns: MapRunRecord[];
}

describe(`a fleet of ${CLUSTERS.toLocaleString('en')} clusters, every managed certificate due`, () => {
  const handlerMs = new Map<string, number>();
  let totalMs = 0;
  const measured: Measured = { states: new Map(), lambdaResponses: new Map(), histories: [], mapRuns: [] };
  const bucket = new MemoryObjectStore('rs-cert-watchdog-reports');
  const immediate: Alert[] = [];
  const digests: RunDigest[] = [];
  let output: RunSummary & { digest?: unknown };
  let stateDir: string;

  beforeAll(async () => {
    const started = performance.now();
    stateDir = mkdtempSync(join(tmpdir(), 'fleet-20000-'));
    const config = fleetConfigOf20000();
    const connect = await fleetStandIn();
    const { createCheckHandler } = await import('../../lambdas/handlers/check');
    const { createNotifyHandler } = await import('../../lambdas/handlers/notify');
    const checkContext: CheckContext = { config, credentials, connect, state: { pending: async () => null } };
    const renewalContext = {
      config,
      state: new StateStore(new LocalDirectoryStore(stateDir)),
      notifier: { send: async (alert: Alert) => void immediate.push(alert) },
      digests: { sendDigest: async (digest: RunDigest) => void digests.push(digest) },
    } as unknown as RenewalContext;
    const check = createCheckHandler(
      () => checkContext,
      () => bucket,
    );
    const notify = createNotifyHandler(
      () => renewalContext,
      () => bucket,
    );

    // What Issue, Push, Verify and ActiveActive answer for a batch: Issue orders what the run's order
    // budget granted and sets aside the rest with OrderDeferredError, as the real step does.
    const issued = (batch: ClusterBatch): ClusterBatch => ({
      ...batch,
      steps: batch.items
        .filter((item) => !item.deferOrder)
        .map(
          (item, i): RenewalStep => ({
            ...item,
            fingerprint256: 'AB:'.repeat(31).concat('CD'),
            notAfter: new Date(Date.now() + 90 * 86_400_000).toISOString(),
            serialNumber: `04${String(i).padStart(34, '0')}`,
            reused: false,
            lock: {
              key: `locks/${item.cluster}/${item.certificate}`,
              owner: { id: `execution:${'x'.repeat(80)}`, description: 'a Step Functions execution' },
              expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
            },
            replacedNotAfter: item.currentNotAfter,
            replacedFingerprint256: item.currentFingerprint256,
          }),
        ),
      failures: batch.items
        .filter((item) => item.deferOrder)
        .map((item) => ({
          item,
          error: {
            name: 'OrderDeferredError',
            message: 'the run’s order budget went to certificates closer to expiry',
          },
        })),
    });
    const lambda =
      (name: string, fn: (input: unknown) => Promise<unknown>) =>
      async (input: unknown): Promise<unknown> => {
        const started = performance.now();
        const result = await fn(input);
        handlerMs.set(name, (handlerMs.get(name) ?? 0) + performance.now() - started);
        measured.lambdaResponses.set(name, Math.max(measured.lambdaResponses.get(name) ?? 0, bytes(result)));
        return result;
      };
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {
      // No state of version 0.1 to move (its own tests run the bundle).
      [STATE_NAMES.migrateState]: async () => ({ migrated: 0 }),
      [STATE_NAMES.check]: lambda('check', (e) => check(e as never)),
      [STATE_NAMES.gather]: lambda('check', (e) => check(e as never)),
      [STATE_NAMES.planRollback]: lambda('check', (e) => check(e as never)),
      [STATE_NAMES.notifyFindings]: lambda('notify', (e) => notify(e as never)),
      [STATE_NAMES.issue]: lambda('issue', async (b) => issued(b as ClusterBatch)),
      [STATE_NAMES.push]: lambda('push', async (b) => {
        const batch = b as ClusterBatch;
        // Nothing ordered, nothing pushed.
        if (!batch.steps?.length) return batch;
        return {
          ...batch,
          push: {
            id: 'p'.repeat(32),
            api: 'certificates',
            certificates: batch.steps.map((s) => s.certificate),
          },
        };
      }),
      [STATE_NAMES.verify]: lambda('verify', async (b) => ({
        ...(b as ClusterBatch),
        steps: ((b as ClusterBatch).steps ?? []).map((s) => ({ ...s, verification: 'served by every node' })),
      })),
      [STATE_NAMES.activeActive]: lambda('activeActive', async (b) => ({
        ...(b as ClusterBatch),
        activeActive: null,
      })),
      [STATE_NAMES.notifyRenewed]: lambda('notify', (e) => notify(e as never)),
      [STATE_NAMES.notifyFailed]: lambda('notify', (e) => notify(e as never)),
      [STATE_NAMES.notifyDigest]: lambda('notify', (e) => notify(e as never)),
    };

    const onEvent = (event: EventLog) => {
      const state = (event as { state?: { name: string; input?: unknown; output?: unknown } }).state;
      if (!state) return;
      const size = Math.max(bytes(state.input), state.output === undefined ? 0 : bytes(state.output));
      measured.states.set(state.name, Math.max(measured.states.get(state.name) ?? 0, size));
    };
    let executedChildren = 0;
    let happyPathEvents = 0;
    const definition = synthesizedDefinition({ ...config, clusters: config.clusters.slice(0, 2) });
    const played = withDistributedMaps(definition, {
      s3: {
        read: async (_b, key) => (await bucket.getText(key)) ?? Promise.reject(new Error(`no ${key}`)),
        write: (_b, key, body) => bucket.put(key, body, 'application/json'),
      },
      mapRuns: measured.mapRuns,
      runChild: async (state, child, input, name): Promise<ChildRun> => {
        if (state === STATE_NAMES.renewDue && executedChildren >= EXECUTED_CHILDREN && happyPathEvents > 0) {
          // The same handlers, in the happy path's order, without the engine.
          let value = input;
          for (const step of [
            STATE_NAMES.issue,
            STATE_NAMES.push,
            STATE_NAMES.verify,
            STATE_NAMES.activeActive,
          ])
            value = await (handlers[step] as (i: unknown) => Promise<unknown>)(value);
          const out = await (handlers[STATE_NAMES.notifyRenewed] as (i: unknown) => Promise<unknown>)({
            renewed: value,
          });
          measured.histories.push({ execution: name, events: happyPathEvents });
          return { status: 'SUCCEEDED', output: out };
        }
        const run = await runLocalExecution(child, input, {
          executionId: `${state}:${name}`,
          handlers,
          onEvent,
        });
        measured.histories.push({ execution: name, events: run.events });
        if (state === STATE_NAMES.renewDue) {
          executedChildren++;
          if (run.status === 'SUCCEEDED') happyPathEvents = Math.max(happyPathEvents, run.events);
        }
        return run;
      },
    });
    await bucket.put(CLUSTER_LIST_KEY, JSON.stringify(clusterList(config)), 'application/json');
    const run = await runLocalExecution(
      played.definition,
      {},
      {
        executionId: 'arn:aws:states:us-east-1:123456789012:execution:RsCertWatchdog:fleet-20000',
        handlers: { ...handlers, ...played.handlers },
        onEvent,
      },
    );
    measured.histories.push({ execution: 'parent', events: run.events });
    if (run.status !== 'SUCCEEDED') throw new Error(`the execution failed: ${run.error}: ${run.cause}`);
    output = run.output as typeof output;
    totalMs = performance.now() - started;
  });

  afterAll(() => {
    // For the README's scale table: FLEET_REPORT=1 prints what was measured.
    if (process.env.FLEET_REPORT)
      console.log(
        JSON.stringify({
          clusters: CLUSTERS,
          largestState: [...measured.states.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5),
          lambdaResponses: Object.fromEntries(measured.lambdaResponses),
          parentEvents: measured.histories.find((h) => h.execution === 'parent')?.events,
          largestChildHistory: Math.max(...measured.histories.map((h) => h.events)),
          mapRuns: measured.mapRuns,
          digestBytes: bytes(digests[0]),
          renewDueError: (output as { renewDueError?: unknown }).renewDueError,
          totalMs: Math.round(totalMs),
          handlerMs: Object.fromEntries([...handlerMs].map(([k, v]) => [k, Math.round(v)])),
        }),
      );
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('checks every cluster in shards and renews every due certificate, one child execution per cluster', () => {
    const [checkRun, renewRun] = measured.mapRuns;
    expect(checkRun).toMatchObject({
      state: STATE_NAMES.checkFleet,
      items: CLUSTERS,
      children: CLUSTERS / 50,
      failed: 0,
    });
    expect(renewRun).toMatchObject({
      state: STATE_NAMES.renewDue,
      items: CLUSTERS,
      children: CLUSTERS,
      failed: 0,
    });
    expect(output).toMatchObject({ clusters: CLUSTERS, clustersUnreadable: 0, failedShards: 0 });
    expect(output.due).toMatchObject({ batches: CLUSTERS, certificates: 2 * CLUSTERS });
  });

  it('keeps every state’s input and output far under 256 KiB', () => {
    const largest = Math.max(...measured.states.values());
    expect(measured.states.size).toBeGreaterThan(10);
    expect(largest).toBeLessThan(STATE_LIMIT / 4);
    // And what each child starts from, for every item (not only the executed children).
    for (const run of measured.mapRuns) expect(run.largestChildInput).toBeLessThan(STATE_LIMIT / 4);
  });

  it('keeps every Lambda response under 6 MB', () => {
    expect([...measured.lambdaResponses.keys()].sort()).toEqual(
      ['activeActive', 'check', 'issue', 'notify', 'push', 'verify'].sort(),
    );
    for (const size of measured.lambdaResponses.values())
      expect(size).toBeLessThan(LAMBDA_RESPONSE_LIMIT / 16);
  });

  it('keeps every execution’s history under 25,000 events (the parent’s does not grow with the fleet)', () => {
    const parent = measured.histories.find((h) => h.execution === 'parent');
    expect(parent?.events).toBeLessThan(100);
    expect(measured.histories).toHaveLength(1 + CLUSTERS / 50 + CLUSTERS);
    expect(Math.max(...measured.histories.map((h) => h.events))).toBeLessThan(HISTORY_LIMIT / 100);
  });

  it('tells people once: one digest, the order budget’s renewals and the deferred rest counted, no alert per certificate', () => {
    // Let's Encrypt's 300 new orders per 3 hours: the run orders its budget (250), most urgent first,
    // and defers the rest to the next run, each with its line in the digest (and in alerts.json).
    expect(output.ordersDeferred).toBe(2 * CLUSTERS - 250);
    expect(digests).toHaveLength(1);
    expect(digests[0]?.counts).toMatchObject({
      clusters: CLUSTERS,
      renewed: 250,
      deferred: 2 * CLUSTERS - 250,
      failed: 0,
    });
    expect(bytes(digests[0])).toBeLessThan(64 * 1024);
    expect(immediate).toEqual([]);
  });
});
