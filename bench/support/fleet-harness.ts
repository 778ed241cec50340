/** The checker side of the fleet benchmark: the simulator child process, credentials and config. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { parseConfig } from '../../lambdas/domain/config/schema';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { ClusterAccess, CredentialsProvider } from '../../lambdas/domain/ports';
import { childEnv, median, REPO_DIR, TSX_BIN } from './common';

export interface FleetServer {
  clusters: Array<{ url: string }>;
  caPem: string;
  username: string;
  password: string;
  /** Distinct certificate sets among the simulators (simulator i serves set i mod this). */
  certificateSets: number;
  startMs: number;
  command(cmd: 'stats' | 'reset'): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startFleetServer(
  count: number,
  latencyMs: number,
  certificateSets = 1,
): Promise<FleetServer> {
  const child: ChildProcessWithoutNullStreams = spawn(
    TSX_BIN,
    [
      'bench/support/fleet-server.ts',
      '--count',
      String(count),
      '--latency',
      String(latencyMs),
      '--sets',
      String(certificateSets),
    ],
    { cwd: REPO_DIR, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const lines: Interface = createInterface({ input: child.stdout });
  const queue: Array<(value: Record<string, unknown>) => void> = [];
  let ready: ((value: Record<string, unknown>) => void) | undefined;
  const readyLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`fleet-server exited (${code}) before ready:\n${stderr}`)));
  });
  lines.on('line', (line) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (ready) {
      const r = ready;
      ready = undefined;
      r(value);
    } else queue.shift()?.(value);
  });
  const first = (await readyLine) as unknown as Omit<FleetServer, 'command' | 'stop'>;
  return {
    ...first,
    command: (cmd) =>
      new Promise((resolve) => {
        queue.push(resolve);
        child.stdin.write(`${cmd}\n`);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end('quit\n');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** The credentials and pinned CA every simulator of the fleet server shares. */
export function fleetAccess(server: FleetServer): ClusterAccess {
  return { username: server.username, password: server.password, caPem: server.caPem };
}

/** In-memory stand-in for the Secrets Manager provider: what the simulators use. */
export class InMemoryCredentials implements CredentialsProvider {
  constructor(private readonly access: ClusterAccess) {}
  async resolve(): Promise<ClusterAccess> {
    return this.access;
  }
}

/**
 * Every RS cluster ships its own self-signed CA, so a real fleet pins N distinct CAs. This provider
 * gives each cluster a distinct caPem (a comment line before the shared CA, which PEM parsers skip):
 * the trust store then differs per cluster, as it would with N real CAs, at no start-up cost.
 */
export class DistinctCaCredentials implements CredentialsProvider {
  constructor(
    private readonly access: ClusterAccess,
    /** Changes every cluster's PEM text again, e.g. to start from an empty trust-context cache. */
    private readonly salt = '',
  ) {}
  async resolve(cluster: { name: string }): Promise<ClusterAccess> {
    return {
      ...this.access,
      caPem: `# pinned CA of ${cluster.name}${this.salt}\n${this.access.caPem ?? ''}`,
    };
  }
}

export function fleetConfig(
  server: FleetServer,
  n: number,
  concurrency: number,
  stateDir: string,
): WatchdogConfig {
  return parseConfig(
    {
      concurrency,
      stateDir,
      clusters: server.clusters.slice(0, n).map((c, i) => ({
        name: `bench-${i + 1}`,
        endpoint: c.url,
        credentialsSecret: `bench/cluster-${i + 1}`,
      })),
    },
    stateDir,
  );
}

/** CPU of one X509Certificate parse of `pem`, in µs: the median of 5 rounds of 200. */
export function x509ParseMicros(pem: string): number {
  const rounds: number[] = [];
  for (let r = 0; r < 6; r++) {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < 200; i++) new X509Certificate(pem);
    const cpu = process.cpuUsage(cpu0);
    if (r > 0) rounds.push((cpu.user + cpu.system) / 200);
  }
  return median(rounds);
}
