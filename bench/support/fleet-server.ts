/**
 * Child process for bench/fleet-check.bench.ts: runs `--count` RS simulators (1 node, no node
 * listeners, one shared CA, `--latency` ms per answer) so that the checker's process measures only
 * itself. `--sets K` issues K distinct certificate sets (six certificates each, keys from the test
 * key pool) and gives simulator i set i mod K, so that a checker meets as many distinct certificates
 * as a real fleet of K clusters would.
 *
 * Protocol: one JSON line on stdout when ready ({ ready, clusters: [{ url }], caPem, username,
 * password, startMs }); then one JSON line per stdin command: `stats` ({ requests, statuses, cpuMs since the last reset, rssMb }),
 * `reset` (clears request logs), `quit`. It exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { issueCertificateSet, type RsSimulator, startRsSimulator } from '../../test/sim/rs-simulator';
import { createCa } from '../../test/support/pki';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number`);
  return value;
}

const count = arg('count', 500);
const latencyMs = arg('latency', 50);
const setCount = Math.max(1, Math.min(arg('sets', 1), count));
const started = performance.now();

const ca = await createCa({ commonName: 'rs-cert-watchdog bench CA' });
const sets: Array<Awaited<ReturnType<typeof issueCertificateSet>>> = [];
for (let i = 0; i < setCount; i += 25) {
  sets.push(
    ...(await Promise.all(
      Array.from({ length: Math.min(25, setCount - i) }, () => issueCertificateSet({ ca, nodes: 1 })),
    )),
  );
}
const sims: RsSimulator[] = [];
const BATCH = 50;
for (let i = 0; i < count; i += BATCH) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
      startRsSimulator({
        ca,
        certificates: sets[(i + j) % sets.length]!,
        nodes: 1,
        nodeListeners: false,
        latencyMs,
      }),
    ),
  );
  sims.push(...batch);
}

const first = sims[0];
if (!first) throw new Error('--count must be at least 1');
const send = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
send({
  ready: true,
  clusters: sims.map((s) => ({ url: s.url })),
  caPem: first.caPem,
  username: first.username,
  password: first.password,
  certificateSets: sets.length,
  startMs: Math.round(performance.now() - started),
});

const shutdown = async () => {
  await Promise.all(sims.map((s) => s.close()));
  process.exit(0);
};

let cpuBase = process.cpuUsage();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = line.trim();
  if (command === 'stats') {
    const statuses: Record<string, number> = {};
    let requests = 0;
    for (const sim of sims) {
      requests += sim.requests.length;
      for (const r of sim.requests) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    const cpu = process.cpuUsage(cpuBase);
    send({
      requests,
      statuses,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  } else if (command === 'reset') {
    for (const sim of sims) sim.requests.length = 0;
    cpuBase = process.cpuUsage();
    send({ reset: true });
  } else if (command === 'quit') {
    void shutdown();
  }
});
lines.on('close', () => void shutdown());
