/**
 * The entry bench/check-shard.bench.ts bundles with the Lambda's esbuild options: the check
 * function's own handler (lambdas/handlers/check.ts, `createCheckHandler`) over the product's
 * adapters (connectCluster, the state and inspection memory on records), with the simulated fleet's
 * credentials in memory instead of the Parameters and Secrets extension. Everything the handler
 * runs per cluster is the bundle the Lambda runs; only the wiring differs.
 *
 * The bench sends the shard's ItemBatcher batch (Items / BatchInput) to today's handler and `{}`
 * over a config of exactly those clusters to the baseline's (which knew no shards): the same work.
 */

import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import { parseConfig } from '../../lambdas/domain/config/schema';
import { recordInspectionMemory } from '../../lambdas/domain/inspection-memory-records';
import type { ClusterAccess } from '../../lambdas/domain/ports';
import type { CheckContext } from '../../lambdas/domain/renewal/steps';
import { StateStore } from '../../lambdas/domain/state';
import { createCheckHandler } from '../../lambdas/handlers/check';

export interface ShardSetup {
  /** The watchdog config document (clusters pointing at the simulators). */
  config: unknown;
  stateDir: string;
  access: ClusterAccess;
  /** Every cluster pins its own CA text (a real fleet: one CA per cluster). */
  distinctCa: boolean;
}

export function shardHandler(setup: ShardSetup): (event: unknown) => Promise<unknown> {
  const config = parseConfig(setup.config, setup.stateDir);
  const directory = new LocalDirectoryStore(setup.stateDir);
  const scopes = new Map<string, ReturnType<typeof recordInspectionMemory>>();
  const ctx: CheckContext = {
    config,
    credentials: {
      resolve: async (cluster) =>
        setup.distinctCa
          ? { ...setup.access, caPem: `# pinned CA of ${cluster.name}\n${setup.access.caPem ?? ''}` }
          : setup.access,
    },
    connect: connectCluster,
    state: new StateStore(directory),
    inspectionMemory: recordInspectionMemory(directory.records),
    // One store per scope for the process, as lambdas/wiring/check-context.ts keeps them
    // (inspectionMemoryByScope; written out here: the baseline's tree, bundled with this entry, has none).
    inspectionMemoryOf: (scope) => {
      const store = scopes.get(scope) ?? recordInspectionMemory(directory.records, scope);
      scopes.set(scope, store);
      return store;
    },
  };
  // The shard's report and plan go to S3 on AWS; in memory here (the bench measures the check). Not
  // the in-memory adapter: the baseline's tree, bundled with this entry, has none.
  const objects = new Map<string, string | Uint8Array>();
  const reports = {
    bucket: 'bench-reports',
    put: async (key: string, body: string | Uint8Array) => void objects.set(key, body),
    getText: async (key: string) => {
      const body = objects.get(key);
      return body === undefined ? null : typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    },
  };
  const handler = createCheckHandler(
    () => ctx,
    () => reports,
  );
  return (event) => handler(event as Parameters<typeof handler>[0]);
}
