/**
 * What the cost model (scripts/cost.ts) takes as measured is what the executed state machine does:
 * its state calls per scheduled run and per renewal batch (against dynalite, counted by the proxy in
 * front of it), its KMS calls (the stand-in), and the bytes the table keeps per cluster. A change to
 * the steps that changes these fails here until the model and the README's table follow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSUMPTIONS, MEASURED } from '../../scripts/cost';
import { type LocalWorkflow, localWorkflow } from '../support/local-workflow';
import type { StateBackend } from '../support/state-backend';
import { daysFromNow, startWorld, type World } from '../support/world';

type Call = StateBackend['calls'][number];
const CHECK_PARTITIONS = /^(migration|renewal-info\/|inspection-memory)/;
const tally = (calls: Call[]) => ({
  gets: calls.filter((c) => c.operation === 'GetItem').length,
  queries: calls.filter((c) => c.operation === 'Query').length,
  puts: calls.filter((c) => c.operation === 'PutItem').length,
  deletes: calls.filter((c) => c.operation === 'DeleteItem').length,
});
const near = (measured: number, modelled: number) =>
  expect(Math.abs(measured - modelled) / modelled).toBeLessThan(0.25);

describe('the state calls the cost model counts', () => {
  let world: World;
  let workflow: LocalWorkflow;
  const runs: Array<{ dynamodb: Call[]; kms: string[] }> = [];

  beforeAll(async () => {
    const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
    world = await startWorld({
      clusters: {
        east: {
          certificates: {
            proxy: { dnsNames: ['*.redis.example.com'], ...expiring },
            cm: { dnsNames: ['cm.example.com'], ...expiring },
          },
        },
      },
      pebble: {},
    });
    const config = await world.writeConfig(
      {},
      {
        east: {
          certificates: { proxy: { domains: ['*.redis.example.com'] }, cm: { domains: ['cm.example.com'] } },
        },
      },
    );
    workflow = await localWorkflow(world, config);
    // The first run renews both (and moves nothing: no earlier state); then a run with nothing due;
    // then a run that renews both again, as every 60 days.
    for (const input of [{}, {}, { force: ['proxy', 'cm'] }]) {
      const d = workflow.backend.calls.length;
      const k = workflow.backend.kms.calls.length;
      await workflow.execute(input);
      runs.push({
        dynamodb: workflow.backend.calls.slice(d).filter((c) => c.table === workflow.table),
        kms: workflow.backend.kms.calls.slice(k),
      });
    }
  }, 300_000);
  afterAll(() => world.close());

  it('a run with nothing due: a fixed few reads, and one per managed certificate (its ARI window)', () => {
    expect(workflow.alerts.filter((a) => a.kind === 'renewed')).toHaveLength(4);
    const quiet = runs[1]!;
    const managed = ASSUMPTIONS.managedPerCluster;
    const { gets, queries } = tally(quiet.dynamodb);
    expect({ gets, queries }).toEqual({
      gets: MEASURED.run.gets + managed * MEASURED.runPerManaged.gets,
      queries: MEASURED.run.queries,
    });
    expect(quiet.kms).toEqual([]);
  });

  it('a renewal batch of a cluster’s two certificates: its reads, writes and KMS calls', () => {
    const renewal = runs[2]!;
    // The check's part of that run (the migration marker, ARI windows, the inspection memory, the
    // pending markers' Query) is counted per run above.
    const batch = renewal.dynamodb.filter(
      (c) => !CHECK_PARTITIONS.test(c.partition) && !(c.operation === 'Query' && c.partition === 'pending'),
    );
    const counted = tally(batch);
    expect(counted).toEqual({
      gets: MEASURED.batch.gets,
      queries: MEASURED.batch.queries,
      puts: MEASURED.batch.puts,
      deletes: MEASURED.batch.deletes,
    });
    expect({
      decrypt: renewal.kms.filter((k) => k === 'Decrypt').length,
      generate: renewal.kms.filter((k) => k === 'GenerateDataKey').length,
    }).toEqual({ decrypt: MEASURED.batch.kmsDecrypt, generate: MEASURED.batch.kmsGenerateDataKey });
    const units = batch
      .filter((c) => c.operation === 'PutItem')
      .reduce((sum, c) => sum + Math.ceil(c.bytes / 1024), 0);
    expect(Math.round(units / counted.puts)).toBe(MEASURED.batchWriteUnitsPerPut);
  });

  it('the bytes the table keeps for a cluster, and its inspection memory', async () => {
    const items = (
      await workflow.backend.client().send<{ Items: Array<Record<string, { S?: string }>> }>('Scan', {
        TableName: workflow.table,
      })
    ).Items;
    const bytes = (pk: RegExp) =>
      items.filter((i) => pk.test(i.pk?.S ?? '')).reduce((sum, i) => sum + JSON.stringify(i).length, 0);
    near(bytes(/^inspection-memory$/), MEASURED.inspectionBytesPerCluster);
    near(bytes(/^(?!inspection-memory$)/), MEASURED.tableBytesPerCluster);
  });

  it('the check report the log keeps, per certificate', async () => {
    const config = `${world.dir}/config.json`;
    const report = JSON.parse((await world.cli('check', '--config', config, '--json')).stdout) as {
      clusters: Array<{ certificates: unknown[] }>;
    };
    const certificates = report.clusters.flatMap((c) => c.certificates);
    near(
      JSON.stringify(certificates).length / certificates.length,
      ASSUMPTIONS.logBytes.reportPerCertificate,
    );
  });
});
