/**
 * The fault-injection suite: every fault, through the CLI and through the executed state machine,
 * against the RS simulator and Pebble. Each run checks three things:
 *   1. the outcome and the alert are right;
 *   2. no key or certificate is lost: whatever was issued is in the state store, with its key;
 *   3. nothing is ordered twice.
 * The README's fault table is this table.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyMatchesLeaf, parseCertificateChain, parsePrivateKey } from '../../lambdas/domain/certificate';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { StoredCertificate } from '../../lambdas/domain/state';
import { type AcmeFaultProxy, startAcmeFaultProxy } from '../support/acme-fault-proxy';
import { localWorkflow } from '../support/local-workflow';
import type { PebbleOptions } from '../support/pebble';
import { daysFromNow, startWorld, type World } from '../support/world';

type Mode = 'cli' | 'sfn';
type Outcome = {
  result: 'renewed' | 'failed' | 'skipped' | 'cluster-error' | 'none';
  error?: string;
  alerts: string[];
};

interface Ctx {
  world: World;
  proxy: AcmeFaultProxy | undefined;
  config: string;
  mode: Mode;
}

interface Fault {
  fault: string;
  expected: string;
  outcome: Omit<Outcome, 'alerts'> & { alert: string };
  pebble?: PebbleOptions;
  acmeProxy?: boolean;
  /** Before the run: inject the fault. */
  arrange?: (ctx: Ctx) => Promise<void> | void;
  /** Replaces the single run (crashes, concurrency, resume). Returns the outcome of the last run. */
  run?: (ctx: Ctx) => Promise<Outcome>;
  configOverrides?: (ctx: Ctx) => Record<string, unknown>;
  /** Exactly this many PUTs reach the cluster (fail fast: no retry storm). */
  puts?: number;
  modes?: Mode[];
}

const due = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const DOMAINS = ['*.redis.example.com'];
const put = (w: World) => w.sims.east!.requests.filter((r) => r.method === 'PUT');
const statePath = (w: World) => join(w.dir, 'state', 'certificates', 'east', 'proxy', 'current.json');

const faults: Fault[] = [
  ...(
    [
      [400, 'InvalidCertificateError'],
      [403, 'UnknownCertificateError'],
      [404, 'InvalidCertificateError'],
      [406, 'ExpiredCertificateError'],
      [500, 'ClusterServerError'],
    ] as const
  ).map(
    ([status, error]): Fault => ({
      fault: `PUT answers ${status}`,
      expected: `fails fast (one PUT), ${error} alert, certificate kept for the next run`,
      outcome: { result: 'failed', error, alert: 'renewal-failed' },
      puts: 1,
      arrange: ({ world }) => world.sims.east!.injectFault({ method: 'PUT', kind: 'status', status }),
    }),
  ),
  {
    fault: 'PUT answers 409 twice',
    expected: 'the same certificate pushed again with backoff; every node updated; renewed alert',
    outcome: { result: 'renewed', alert: 'renewed' },
    arrange: ({ world }) => world.sims.east!.injectFault({ method: 'PUT', kind: 'partial-update', times: 2 }),
  },
  {
    fault: 'PUT answers 409 forever',
    expected: 'retries per policy, then NodesNotUpdatedError alert naming the nodes; certificate kept',
    outcome: { result: 'failed', error: 'NodesNotUpdatedError', alert: 'renewal-failed' },
    arrange: ({ world }) =>
      world.sims.east!.injectFault({
        method: 'PUT',
        kind: 'partial-update',
        times: Number.POSITIVE_INFINITY,
      }),
  },
  {
    fault: 'GET answers 401 (wrong password)',
    expected: 'AuthenticationError for that cluster, cluster-unreachable alert, no order',
    outcome: { result: 'cluster-error', error: 'AuthenticationError', alert: 'cluster-unreachable' },
    arrange: ({ world }) => {
      world.env.RS_PASSWORD_EAST = 'wrong-password';
    },
  },
  {
    fault: 'connection reset on every GET',
    expected: 'bounded GET retries, then ClusterNetworkError, cluster-unreachable alert',
    outcome: { result: 'cluster-error', error: 'ClusterNetworkError', alert: 'cluster-unreachable' },
    arrange: ({ world }) =>
      world.sims.east!.injectFault({ method: 'GET', kind: 'reset', times: Number.POSITIVE_INFINITY }),
  },
  {
    fault: 'a response that never ends',
    expected: 'ClusterTimeoutError after timeoutSeconds, cluster-unreachable alert',
    outcome: { result: 'cluster-error', error: 'ClusterTimeoutError', alert: 'cluster-unreachable' },
    arrange: ({ world }) => world.sims.east!.injectFault({ method: 'GET', kind: 'hang' }),
  },
  {
    fault: 'malformed JSON from the cluster',
    expected: 'BadResponseError (body never quoted), cluster-unreachable alert',
    outcome: { result: 'cluster-error', error: 'BadResponseError', alert: 'cluster-unreachable' },
    arrange: ({ world }) => world.sims.east!.injectFault({ method: 'GET', kind: 'malformed-json' }),
  },
  {
    fault: 'truncated PEM in proxy_cert',
    expected: 'the field is invalid, so due: renewed (an unreadable certificate constrains nothing)',
    outcome: { result: 'renewed', alert: 'renewed' },
    arrange: ({ world }) => {
      const pem = world.sims.east!.certificate('proxy')!.certPem;
      world.sims.east!.setCertificateField('proxy_cert', pem.slice(0, 300));
    },
  },
  {
    fault: 'the CA issues an expired certificate',
    expected: 'refused before push (CertificateValidationError: expired), nothing pushed',
    outcome: { result: 'failed', error: 'CertificateValidationError', alert: 'renewal-failed' },
    pebble: { certificateValiditySeconds: 1 },
  },
  {
    fault: 'the CA returns the chain in the wrong order',
    expected: 'refused before push (CertificateValidationError: chain out of order), nothing pushed',
    outcome: { result: 'failed', error: 'CertificateValidationError', alert: 'renewal-failed' },
    acmeProxy: true,
    arrange: ({ proxy }) =>
      proxy!.inject({
        path: /certZ/,
        times: 1,
        transformBody: (pem) =>
          pem
            .split(/(?=-----BEGIN CERTIFICATE-----)/)
            .reverse()
            .join('\n'),
      }),
  },
  {
    fault: 'ACME badNonce storm (every nonce rejected)',
    expected: 'bounded retries, AcmeBadNonceError alert, no certificate',
    outcome: { result: 'failed', error: 'AcmeBadNonceError', alert: 'renewal-failed' },
    pebble: { nonceRejectPercent: 100 },
  },
  {
    fault: 'ACME rateLimited (Retry-After 1 h)',
    expected: 'AcmeRateLimitedError with the retry time, one newOrder, not retried',
    outcome: { result: 'failed', error: 'AcmeRateLimitedError', alert: 'renewal-failed' },
    acmeProxy: true,
    arrange: ({ proxy }) =>
      proxy!.inject({
        path: /order-plz/,
        times: 5,
        status: 429,
        problem: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' },
        headers: { 'Retry-After': '3600' },
      }),
  },
  {
    fault: 'the DNS record never appears',
    expected: 'AcmeValidationError naming the record; record cleaned up',
    outcome: { result: 'failed', error: 'AcmeValidationError', alert: 'renewal-failed' },
    arrange: ({ world }) => {
      world.bridge!.dropRecords = true;
    },
  },
  {
    fault: 'a crash after issuance, before push',
    expected: 'the next run pushes the saved certificate: renewed, one order in all',
    outcome: { result: 'renewed', alert: 'renewed' },
    run: async (ctx) => {
      if (ctx.mode === 'cli') {
        ctx.world.sims.east!.injectFault({ method: 'PUT', kind: 'hang' });
        await killCliWhen(ctx, () => put(ctx.world).length > 0);
        return runOnce(ctx);
      }
      await runOnce(ctx, { crash: { state: 'Issue', times: 1 } });
      return runOnce(ctx);
    },
  },
  {
    fault: 'a crash after push, before verify',
    expected: 'the next run verifies and reports it (CLI); the Catch reports it (state machine)',
    outcome: { result: 'renewed', alert: 'renewed' },
    run: async (ctx) => {
      if (ctx.mode === 'cli') {
        // Slow reads leave a window between the accepted PUT and the verification read.
        ctx.world.sims.east!.injectFault({
          method: 'GET',
          kind: 'delay',
          ms: 1500,
          times: Number.POSITIVE_INFINITY,
        });
        await killCliWhen(ctx, () => put(ctx.world).some((p) => p.status === 200));
        ctx.world.sims.east!.clearFaults();
        return runOnce(ctx);
      }
      const crashed = await runOnce(ctx, { crash: { state: 'Push', times: 1 } });
      // The PUT went through but the function died: the Catch reports the failure; the cluster holds it.
      expect(crashed).toMatchObject({ result: 'failed', error: 'Lambda.Unknown' });
      return { result: 'renewed', alerts: ['renewed'] };
    },
  },
  {
    fault: 'two runs at once for the same cluster',
    expected: 'one orders, pushes, verifies and alerts; the other finds the lock held and leaves it alone',
    outcome: { result: 'renewed', alert: 'renewed' },
    puts: 1,
    run: async (ctx) => {
      const [a, b] = await Promise.all([runOnce(ctx), runOnce(ctx)]);
      const renewed = [a, b].filter((o) => o.result === 'renewed');
      expect(renewed).toHaveLength(1);
      expect([...a.alerts, ...b.alerts].filter((kind) => kind === 'renewed')).toHaveLength(1);
      // The CLI says so in its report; the state machine ends that iteration in LockHeld, silently.
      expect([a, b].find((o) => o.result !== 'renewed')).toMatchObject({
        result: ctx.mode === 'cli' ? 'skipped' : 'none',
        alerts: [],
      });
      return renewed[0]!;
    },
  },
  {
    fault: 'unwritable state directory',
    expected: 'StateStoreError before any order; nothing pushed',
    outcome: { result: 'failed', error: 'StateStoreError', alert: 'renewal-failed' },
    configOverrides: ({ world }) => ({ stateDir: join(world.dir, 'config.json', 'state') }),
  },
];

let world: World | undefined;
let proxy: AcmeFaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await world?.close();
  world = undefined;
  proxy = undefined;
});

describe.each(['cli', 'sfn'] as const)('fault suite via %s', (mode) => {
  it.each(faults.filter((f) => !f.modes || f.modes.includes(mode)).map((f) => [f.fault, f] as const))(
    '%s',
    async (_name, fault) => {
      world = await startWorld({
        clusters: {
          east: {
            certificates: {
              proxy: { dnsNames: DOMAINS, ...due },
              cm: { dnsNames: ['cm.example.com'], notBefore: daysFromNow(-1), notAfter: daysFromNow(300) },
            },
          },
        },
        pebble: fault.pebble ?? {},
      });
      proxy = fault.acmeProxy ? await startAcmeFaultProxy(world.pebble!, world.dir) : undefined;
      const ctx: Ctx = { world, proxy, config: '', mode };
      const acme = proxy
        ? { acme: { directoryUrl: proxy.directoryUrl, email: 'ops@example.com', caFile: proxy.caFile } }
        : {};
      ctx.config = await world.writeConfig(
        { ...acme, ...fault.configOverrides?.(ctx) },
        { east: { certificates: { proxy: { domains: DOMAINS } } } },
      );
      const keysBefore = world.sims.east!.certificate('proxy')!.fingerprint256;
      await fault.arrange?.(ctx);

      const outcome = await (fault.run ? fault.run(ctx) : runOnce(ctx));

      // 1. The outcome and the alert.
      const { alert, ...rest } = fault.outcome;
      expect(outcome).toMatchObject(rest);
      expect(outcome.alerts).toContain(alert);

      // 2. Nothing lost: an issued certificate is in the state store with its key; the cluster holds
      //    either its old certificate or the stored one.
      const stored = await readStored(world);
      if (orders(world) > 0 && stored) {
        const key = parsePrivateKey(stored.keyPem);
        expect(parseCertificateChain(stored.certificatePem).some((cert) => keyMatchesLeaf(cert, key))).toBe(
          true,
        );
      }
      const held = world.sims.east!.certificate('proxy')!.fingerprint256;
      if (held !== keysBefore) expect(held).toBe(stored?.fingerprint256);
      if (outcome.result === 'renewed') expect(stored?.fingerprint256).toBe(held);

      // 3. Nothing ordered twice.
      expect(orders(world)).toBeLessThanOrEqual(1);
      if (fault.puts !== undefined) expect(put(world)).toHaveLength(fault.puts);
    },
  );
});

/** One renewal run through the mode under test, as a normalized outcome. */
async function runOnce(
  ctx: Ctx,
  options: { crash?: { state: string; times: number } } = {},
): Promise<Outcome> {
  if (ctx.mode === 'cli') {
    const run = await ctx.world.cli('renew', '--config', ctx.config, '--json');
    const report = JSON.parse(run.stdout) as RenewReport;
    const cluster = report.clusters[0]!;
    const alerts = report.alerts.map((a) => a.kind);
    if (cluster.error) return { result: 'cluster-error', error: cluster.error.name, alerts };
    const proxyReport = cluster.certificates.find((c) => c.name === 'proxy')!;
    const result =
      proxyReport.action === 'renewed' || proxyReport.action === 'failed' || proxyReport.action === 'skipped'
        ? proxyReport.action
        : 'none';
    return { result, ...(proxyReport.error ? { error: proxyReport.error.name } : {}), alerts };
  }
  const workflow = await localWorkflow(ctx.world, ctx.config, options);
  await workflow.execute();
  return fromAlerts(workflow.alerts);
}

function fromAlerts(alerts: Alert[]): Outcome {
  const kinds = alerts.map((a) => a.kind);
  const unreachable = alerts.find((a) => a.kind === 'cluster-unreachable');
  if (unreachable?.kind === 'cluster-unreachable')
    return { result: 'cluster-error', error: unreachable.error.name, alerts: kinds };
  const failed = alerts.find((a) => a.kind === 'renewal-failed');
  if (failed?.kind === 'renewal-failed') return { result: 'failed', error: failed.error.name, alerts: kinds };
  return { result: kinds.includes('renewed') ? 'renewed' : 'none', alerts: kinds };
}

/** Runs the real CLI in a child process and SIGKILLs it as soon as `when` holds. */
async function killCliWhen(ctx: Ctx, when: () => boolean): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'lambdas/cli/bin.ts', 'renew', '--config', ctx.config],
    {
      env: { ...process.env, ...ctx.world.env },
      stdio: 'ignore',
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!when() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  expect(when()).toBe(true);
}

function orders(w: World): number {
  // One wildcard name: one DNS-01 record per order.
  return w.bridge!.calls.filter((c) => c.op === 'present').length;
}

async function readStored(w: World): Promise<StoredCertificate | null> {
  try {
    return JSON.parse(await readFile(statePath(w), 'utf8')) as StoredCertificate;
  } catch {
    return null;
  }
}
