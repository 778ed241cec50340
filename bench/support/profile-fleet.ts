/**
 * CPU profile of one `checkFleet` run (default N = 500, concurrency 8) against the simulators in a
 * child process: `tsx bench/support/profile-fleet.ts [N] [concurrency]`. Writes
 * fleet-check.cpuprofile in the system temp directory (open it in Chrome DevTools) and prints the functions with
 * the most self time, plus self time grouped by source file. Not part of `npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import { checkFleet } from '../../lambdas/domain/check';
import { consoleTable, fmt, log } from './common';
import { labelOf, profile, summarizeProfile } from './cpu-profile';
import { fleetAccess, fleetConfig, InMemoryCredentials, startFleetServer } from './fleet-harness';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 500);
  const concurrency = Number(process.argv[3] ?? 8);
  const server = await startFleetServer(n, 50);
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
  const credentials = new InMemoryCredentials(fleetAccess(server));
  try {
    for (let i = 0; i < 3; i++)
      await checkFleet(fleetConfig(server, 8, 8, stateDir), { credentials, connect: connectCluster });
    const config = fleetConfig(server, n, concurrency, stateDir);
    const { profile: cpuProfile, wallMs } = await profile(() =>
      checkFleet(config, { credentials, connect: connectCluster }),
    );
    const file = join(tmpdir(), 'fleet-check.cpuprofile');
    writeFileSync(file, JSON.stringify(cpuProfile));
    const summary = summarizeProfile(cpuProfile, wallMs);
    log(`N=${n} concurrency=${concurrency}: wall ${fmt(wallMs, 0)} ms; profile written to ${file}`);
    log(
      consoleTable(
        ['Function (self time)', 'Where', 'ms', '%'],
        summary.topFunctions.map((f) => [
          labelOf(f.name, f.where),
          f.where,
          fmt(f.selfMs, 0),
          fmt(f.percent, 1),
        ]),
      ),
    );
    log('');
    log(
      consoleTable(
        ['File (self time)', 'ms', '%'],
        summary.byFile.map((f) => [f.file, fmt(f.selfMs, 0), fmt(f.percent, 1)]),
      ),
    );
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
