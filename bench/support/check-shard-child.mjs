// Child process of bench/check-shard.bench.ts, run by the Lambda's Node (24) or this one:
//   node check-shard-child.mjs <bundle.mjs> <setup.json> <event.json> <profile-out|-> <warm runs>
// Loads the bundle (timed), builds the check handler over the simulated fleet, then invokes it once
// cold (a fresh process: every certificate and key parsed) and <warm runs> times warm (a reused
// Lambda environment), measuring each invocation's CPU (process.cpuUsage, user + system) and wall.
// With a profile path, the first warm invocation (or, with --profile-cold, the cold one) is CPU
// profiled at 200 µs (node:inspector) and the profile written there. One JSON line on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';

const [bundle, setupFile, eventFile, profileOut, warmRunsText, flag] = process.argv.slice(2);
const setup = JSON.parse(readFileSync(setupFile, 'utf8'));
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const warmRuns = Number(warmRunsText ?? 3);

// The handler logs its report (Powertools, JSON lines) and metrics: counted, kept off our stdout.
const realWrite = process.stdout.write.bind(process.stdout);
let logBytes = 0;
process.stdout.write = (chunk, ...rest) => {
  logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  const cb = rest.find((r) => typeof r === 'function');
  if (cb) cb();
  return true;
};

const cpuMs = (u) => (u.user + u.system) / 1000;

async function invoke(handler, profileIt) {
  let session;
  if (profileIt) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await handler(event);
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(c0));
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileOut, JSON.stringify(profile));
    session.disconnect();
  }
  return { wallMs, cpuMs: cpu, result };
}

const l0 = process.cpuUsage();
const lt = performance.now();
const { shardHandler } = await import(pathToFileURL(bundle).href);
const load = { wallMs: performance.now() - lt, cpuMs: cpuMs(process.cpuUsage(l0)) };
const handler = shardHandler(setup);
const profileCold = flag === '--profile-cold' && profileOut !== '-';
const cold = await invoke(handler, profileCold);
const warm = [];
for (let i = 0; i < warmRuns; i++)
  warm.push(await invoke(handler, !profileCold && profileOut !== '-' && i === 0));
const summary = (r) => {
  const clusters = r.result?.clusters ?? [];
  return {
    wallMs: r.wallMs,
    cpuMs: r.cpuMs,
    // The whole-fleet check answers a summary per cluster; a shard answers counts (ShardResult).
    clusters: Array.isArray(clusters) ? clusters.length : typeof clusters === 'number' ? clusters : 0,
    errors: Array.isArray(clusters)
      ? clusters.filter((c) => c.error).length
      : (r.result?.clustersUnreadable ?? 0),
  };
};
realWrite(
  `${JSON.stringify({
    node: process.version,
    load,
    cold: summary(cold),
    warm: warm.map(summary),
    logBytes,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  })}\n`,
);
process.exit(0);
