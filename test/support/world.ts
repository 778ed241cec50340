/**
 * An RS fleet (simulators), optionally Pebble with the httpreq bridge, a temp directory with a
 * config file, and the built CLI (dist/cli.mjs) run as its own process: the whole product on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RsSimulator, type RsSimulatorOptions, startRsSimulator } from '../sim/rs-simulator';
import { type CliRun, runBuiltCli } from './cli-process';
import { type DnsBridge, startDnsBridge } from './dns-bridge';
import { type PebbleEnv, type PebbleOptions, startPebble } from './pebble';

export interface WorldOptions {
  clusters?: Record<string, RsSimulatorOptions>;
  pebble?: PebbleOptions | false;
}

export type { CliRun };

export interface World {
  dir: string;
  sims: Record<string, RsSimulator>;
  pebble: PebbleEnv | undefined;
  bridge: DnsBridge | undefined;
  env: NodeJS.ProcessEnv;
  /** Writes `config.json` (base config merged with overrides) and returns its path. */
  writeConfig(
    overrides?: Record<string, unknown>,
    clusterOverrides?: Record<string, Record<string, unknown>>,
  ): Promise<string>;
  /** Runs dist/cli.mjs in its own process, with `env` (and PATH) as its whole environment. */
  cli(...args: string[]): Promise<CliRun>;
  /** Something to stop before the world closes (e.g. the loopback AWS account of its workflows). */
  onClose(stop: () => Promise<void>): void;
  close(): Promise<void>;
}

export const DAY = 86_400_000;
export const daysFromNow = (n: number) => new Date(Date.now() + n * DAY);

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-cert-watchdog-'));
  const specs = options.clusters ?? { 'prod-east': {} };
  const entries = await Promise.all(
    Object.entries(specs).map(async ([name, o]) => [name, await startRsSimulator(o)] as const),
  );
  const sims = Object.fromEntries(entries);
  const pebble =
    options.pebble === false || options.pebble === undefined ? undefined : await startPebble(options.pebble);
  const bridge = pebble ? await startDnsBridge(pebble.dns) : undefined;
  const env: NodeJS.ProcessEnv = {};
  for (const [name, sim] of entries) {
    await writeFile(join(dir, `${name}-ca.pem`), sim.caPem);
    env[envName(name)] = sim.password;
  }

  let configPath = join(dir, 'config.json');
  const stops: Array<() => Promise<void>> = [];
  return {
    dir,
    sims,
    pebble,
    bridge,
    env,
    async writeConfig(overrides = {}, clusterOverrides = {}) {
      const config = {
        renewBeforeDays: 30,
        stateDir: join(dir, 'state'),
        ...(pebble && bridge
          ? {
              acme: { directoryUrl: pebble.directoryUrl, email: 'ops@example.com', caFile: pebble.caFile },
              // The propagation check asks pebble-challtestsrv, the server Pebble validates against.
              dns: { provider: 'httpreq', endpoint: bridge.url, resolvers: [pebble.dns.dnsAddress] },
              pushRetry: {
                maxAttempts: 3,
                intervalSeconds: 0.05,
                backoffRate: 2,
                maxDelaySeconds: 0.2,
                jitter: 'FULL',
              },
            }
          : {}),
        clusters: entries.map(([name, sim]) => ({
          name,
          endpoint: sim.url,
          username: sim.username,
          passwordEnv: envName(name),
          caFile: join(dir, `${name}-ca.pem`),
          timeoutSeconds: 5,
          ...(clusterOverrides[name] ?? {}),
        })),
        ...overrides,
      };
      configPath = join(dir, 'config.json');
      await writeFile(configPath, JSON.stringify(config, null, 2));
      return configPath;
    },
    cli(...args) {
      return runBuiltCli(args, env);
    },
    onClose(stop) {
      stops.push(stop);
    },
    async close() {
      await Promise.all(stops.splice(0).map((stop) => stop()));
      await Promise.all(entries.map(([, sim]) => sim.close()));
      await bridge?.close();
      await pebble?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function envName(cluster: string): string {
  return `RS_PASSWORD_${cluster.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Every secret a run could leak: passwords and every private key the simulators and state hold. */
export function secretsOf(world: World): string[] {
  const secrets: string[] = [];
  for (const sim of Object.values(world.sims)) {
    secrets.push(sim.password);
    for (const name of ['api', 'cm', 'proxy', 'syncer', 'metrics_exporter', 'ldap_client']) {
      const key = sim.certificate(name)?.keyPem;
      if (key) secrets.push(keyBody(key));
    }
  }
  return secrets;
}

/** A distinctive middle line of a PEM key: present in any leak, whatever its framing. */
export function keyBody(pem: string): string {
  const lines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  return lines[Math.floor(lines.length / 2)] ?? pem;
}
