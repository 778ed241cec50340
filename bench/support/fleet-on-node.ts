/**
 * Child process of bench/fleet-check.bench.ts: the concurrency-32 rows at N = 500 again, on another
 * Node (the functions' Node 24, inside the package's `engines`; the bench itself runs on this
 * machine's Node). Run as `node --import tsx bench/support/fleet-on-node.ts <setup.json>` against the
 * fleet server the bench started (its simulators are only network endpoints to this process).
 *
 * The same sequence as the bench: warm-up, one N = 500 check (TLS sessions and inspection memory of
 * the whole fleet), the single-cluster time (N = 1, concurrency 8) that makes the ideal, then
 * interleaved repetitions of a repeat check (warm) and a first check (inspection memory cleared).
 * Checker CPU is this process's user + system time. One JSON line on stdout.
 */
import { readFileSync } from 'node:fs';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import { clearInspectionCache } from '../../lambdas/domain/certificate';
import { checkFleet } from '../../lambdas/domain/check';
import { median } from './common';
import { type FleetServer, fleetConfig, InMemoryCredentials, x509ParseMicros } from './fleet-harness';

export interface FleetOnNodeSetup {
  clusters: FleetServer['clusters'];
  caPem: string;
  username: string;
  password: string;
  stateDir: string;
  repeats: number;
}

export interface FleetOnNodeRun {
  wallMs: number;
  cpuMs: number;
  errors: number;
}

export interface FleetOnNodeResult {
  node: string;
  /** Median N = 1 wall time: ideal = ⌈500 / 32⌉ × this. */
  singleMs: number;
  warm: FleetOnNodeRun[];
  cold: FleetOnNodeRun[];
  /** CPU of one `new X509Certificate` of the fleet's CA, median of 5 × 200. */
  x509ParseUs: number;
}

const setup = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as FleetOnNodeSetup;
const server = { clusters: setup.clusters } as FleetServer;
const credentials = new InMemoryCredentials({
  username: setup.username,
  password: setup.password,
  caPem: setup.caPem,
});
const check = async (n: number, concurrency: number): Promise<FleetOnNodeRun> => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await checkFleet(fleetConfig(server, n, concurrency, setup.stateDir), {
    credentials,
    connect: connectCluster,
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    errors: report.clusters.filter((c) => c.error !== null).length,
  };
};

for (let i = 0; i < 3; i++) await check(8, 8);
await check(500, 32);
const single: number[] = [];
for (let i = 0; i < 5; i++) single.push((await check(1, 8)).wallMs);
const result: FleetOnNodeResult = {
  node: process.version,
  singleMs: median(single),
  warm: [],
  cold: [],
  x509ParseUs: x509ParseMicros(setup.caPem),
};
for (let rep = 0; rep < setup.repeats; rep++) {
  result.warm.push(await check(500, 32));
  clearInspectionCache();
  result.cold.push(await check(500, 32));
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
