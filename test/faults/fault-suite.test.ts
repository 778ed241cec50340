/**
 * The fault-injection suite: every fault, through the CLI and through the executed state machine,
 * against the RS simulator and Pebble. Each run checks three things:
 *   1. the outcome and the alert are right;
 *   2. no key or certificate is lost: whatever was issued is in the state store, with its key;
 *   3. nothing is ordered twice.
 * The README's fault table is this table.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer as createTcpServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { formatAlert, slackMessage } from '../../lambdas/domain/alerts';
import { keyMatchesLeaf, parseCertificateChain, parsePrivateKey } from '../../lambdas/domain/certificate';
import type { Alert } from '../../lambdas/domain/ports';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import type { StoredCertificate } from '../../lambdas/domain/state';
import { type AcmeFaultProxy, startAcmeFaultProxy } from '../support/acme-fault-proxy';
import { CLI_PATH } from '../support/cli-process';
import { localWorkflow, watchdogAwsOf, workflowState } from '../support/local-workflow';
import type { PebbleOptions } from '../support/pebble';
import { createCa, issueCert } from '../support/pki';
import { daysFromNow, startWorld, type World } from '../support/world';

type Mode = 'cli' | 'sfn';
type Outcome = {
  result: 'renewed' | 'failed' | 'skipped' | 'cluster-error' | 'none';
  error?: string;
  alerts: string[];
  /** Every alert in full (CLI: the report's alerts; state machine: what Notify sent). */
  sent?: Alert[];
  /** CLI only: stdout and stderr of the last run. */
  printed?: string;
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
  /** After the common checks: what the cluster received, what was alerted, what was printed. */
  after?: (ctx: Ctx, outcome: Outcome) => Promise<void> | void;
}

const due = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };
const DOMAINS = ['*.redis.example.com'];
/** A certificate name an attacker controlling a cluster's answers might choose. */
const HOSTILE = 'evil\u001b[2J\u0007\r\n<!channel>';
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
    expected:
      'DnsPropagationTimeoutError naming the record, before the CA is asked to validate (no failed authorization); record cleaned up',
    outcome: { result: 'failed', error: 'DnsPropagationTimeoutError', alert: 'renewal-failed' },
    acmeProxy: true,
    configOverrides: ({ world }) => ({
      dns: {
        provider: 'httpreq',
        endpoint: world.bridge!.url,
        resolvers: [world.pebble!.dns.dnsAddress],
        propagationTimeoutSeconds: 2,
      },
    }),
    arrange: ({ world }) => {
      world.bridge!.dropRecords = true;
    },
    after: ({ world, proxy }) => {
      // The challenges were never answered at the CA, and what was published is removed.
      expect(proxy!.hits.filter((h) => h.method === 'POST' && /chalZ/.test(h.path))).toEqual([]);
      const calls = world.bridge!.calls;
      expect(
        calls
          .filter((c) => c.op === 'cleanup')
          .map((c) => c.fqdn)
          .sort(),
      ).toEqual(
        calls
          .filter((c) => c.op === 'present')
          .map((c) => c.fqdn)
          .sort(),
      );
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
    expected:
      'the next run finds the pushed, unverified certificate, verifies and reports it, with no new order or PUT',
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
      // The PUT went through but the function died: this execution reports the failure...
      expect(crashed).toMatchObject({ result: 'failed', error: 'Lambda.Unknown' });
      const puts = put(ctx.world).length;
      // ...and the next one finds the keyless "pushed, not verified" marker, verifies and reports it.
      const resumed = await runOnce(ctx);
      expect(put(ctx.world)).toHaveLength(puts);
      return resumed;
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
      // The CLI says so in its report; the state machine's Issue sets it aside, silently.
      expect([a, b].find((o) => o.result !== 'renewed')).toMatchObject({
        result: ctx.mode === 'cli' ? 'skipped' : 'none',
        alerts: [],
      });
      return renewed[0]!;
    },
  },
  {
    fault: 'unwritable state (CLI: the state directory; AWS: a KMS key Secrets Manager cannot encrypt with)',
    expected: 'StateStoreError before any order; nothing pushed',
    outcome: { result: 'failed', error: 'StateStoreError', alert: 'renewal-failed' },
    configOverrides: ({ world }) => ({ stateDir: join(world.dir, 'config.json', 'state') }),
    // On AWS the state lives in Secrets Manager (the config's stateDir means nothing there).
    arrange: async ({ world, mode }) => {
      if (mode !== 'sfn') return;
      (await watchdogAwsOf(world)).secretsManager.refuseWrites = {
        code: 'EncryptionFailure',
        message: "Secrets Manager can't encrypt the protected secret text using the provided KMS key.",
      };
    },
    puts: 0,
  },
  {
    fault: 'GET /v1/cluster/certificates answers 7 MB of nested arrays',
    expected:
      'refused unparsed (depth limit): BadResponseError for that cluster, cluster-unreachable alert, no order, no PUT',
    outcome: { result: 'cluster-error', error: 'BadResponseError', alert: 'cluster-unreachable' },
    puts: 0,
    arrange: ({ world }) =>
      world.sims.east!.injectFault({
        method: 'GET',
        path: '/v1/cluster/certificates',
        kind: 'status',
        status: 200,
        body: `${'['.repeat(3_500_000)}${']'.repeat(3_500_000)}`,
        times: Number.POSITIVE_INFINITY,
      }),
    after: ({ world }, outcome) => {
      expect(orders(world)).toBe(0);
      const alert = outcome.sent?.find((a) => a.kind === 'cluster-unreachable');
      expect(alert).toMatchObject({ error: { message: expect.stringContaining('nested deeper than') } });
      if (outcome.printed !== undefined) expect(outcome.printed).toContain('nested deeper than');
    },
  },
  {
    fault: 'GET /v1/cluster/certificates answers {}',
    expected: 'BadResponseError (no certificate named) for that cluster, cluster-unreachable alert, no order',
    outcome: { result: 'cluster-error', error: 'BadResponseError', alert: 'cluster-unreachable' },
    puts: 0,
    arrange: ({ world }) =>
      world.sims.east!.injectFault({
        method: 'GET',
        path: '/v1/cluster/certificates',
        kind: 'status',
        status: 200,
        body: {},
        times: Number.POSITIVE_INFINITY,
      }),
    after: ({ world }, outcome) => {
      expect(orders(world)).toBe(0);
      expect(outcome.sent?.find((a) => a.kind === 'cluster-unreachable')).toMatchObject({
        error: { message: expect.stringContaining('named no certificate') },
      });
    },
  },
  {
    fault: 'wrong shapes: cm_cert null, syncer_cert {}, metrics_exporter_cert 42',
    expected: 'each reported invalid with its reason and alerted (alert-only); proxy still renewed',
    outcome: { result: 'renewed', alert: 'alert-only' },
    arrange: ({ world }) => {
      world.sims.east!.setCertificateField('cm_cert', null);
      world.sims.east!.setCertificateField('syncer_cert', {});
      world.sims.east!.setCertificateField('metrics_exporter_cert', 42);
    },
    after: (_ctx, outcome) => {
      const invalid = (outcome.sent ?? [])
        .filter((a) => a.kind === 'alert-only')
        .map((a) => a.kind === 'alert-only' && `${a.certificate}:${a.status}`)
        .sort();
      expect(invalid).toEqual(['cm:invalid', 'metrics_exporter:invalid', 'syncer:invalid']);
      if (outcome.printed !== undefined) {
        expect(outcome.printed).toContain('cm_cert is null, not a PEM string');
        expect(outcome.printed).toContain('syncer_cert is an object, not a PEM string');
        expect(outcome.printed).toContain('metrics_exporter_cert is a number, not a PEM string');
      }
    },
  },
  {
    fault: 'a hostile certificate name: ESC, BEL, CR, newline and a Slack <!channel>',
    expected:
      'alerted as data: escaped on the terminal, inert in Slack, a one-line SNS subject; JSON keeps it verbatim',
    outcome: { result: 'renewed', alert: 'alert-only' },
    arrange: ({ world }) => world.sims.east!.setCertificateField(`${HOSTILE}_cert`, null),
    after: async (ctx, outcome) => {
      const hostile = (outcome.sent ?? []).find((a) => a.kind === 'alert-only' && a.certificate === HOSTILE);
      expect(hostile).toBeDefined();
      for (const alert of outcome.sent ?? []) {
        const { subject } = formatAlert(alert);
        expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
        // Slack acts on <…> only in mrkdwn (plain_text headers are literal): there it must be escaped.
        const mrkdwn = JSON.stringify(slackMessage(alert), (key, value: unknown) =>
          key === 'type' && value === 'plain_text' ? undefined : value,
        );
        const message = slackMessage(alert);
        expect(message.text).not.toContain('<');
        expect(mrkdwn.match(/"type":"mrkdwn","text":"[^"]*</g) ?? []).toEqual([]);
      }
      if (ctx.mode === 'cli') {
        const table = await ctx.world.cli('check', '--config', ctx.config);
        const raw = [...(table.stdout + table.stderr)].filter((c) => {
          const code = c.charCodeAt(0);
          return (code < 0x20 && c !== '\n') || code === 0x7f;
        });
        expect(raw).toEqual([]);
        expect(table.stdout).toContain('<!channel>'); // shown, escaped only where it would act
      }
    },
  },
  {
    fault: 'wrong shape in a managed certificate: proxy_cert 42',
    expected:
      'proxy reported invalid with its reason (not dropped), so due; push will not replace a field it cannot read: renewal-failed alert, nothing pushed',
    outcome: { result: 'failed', error: 'BadResponseError', alert: 'renewal-failed' },
    puts: 0,
    arrange: ({ world }) => world.sims.east!.setCertificateField('proxy_cert', 42),
    after: (_ctx, outcome) => {
      // Printed as invalid, not dropped from the report.
      if (outcome.printed !== undefined)
        expect(outcome.printed).toMatch(/"name": "proxy",\s*"status": "invalid"/);
    },
  },
  {
    fault: 'the CA sends a certificate chain over 1 MB',
    expected: 'refused while arriving: AcmeResponseTooLargeError, nothing pushed, records cleaned up',
    outcome: { result: 'failed', error: 'AcmeResponseTooLargeError', alert: 'renewal-failed' },
    puts: 0,
    acmeProxy: true,
    arrange: ({ proxy }) =>
      proxy!.inject({ path: /certZ/, times: 1, transformBody: (pem) => pem + '\n'.repeat(1024 * 1024 + 1) }),
    after: ({ world }) => {
      const calls = world.bridge!.calls;
      expect(calls.filter((c) => c.op === 'cleanup')).toHaveLength(
        calls.filter((c) => c.op === 'present').length,
      );
    },
  },
  {
    fault: 'the CA chains the new certificate to a root its clients do not trust',
    expected:
      'refused before push (CertificateValidationError: untrusted-root): nothing pushed, nobody locked out',
    outcome: { result: 'failed', error: 'CertificateValidationError', alert: 'renewal-failed' },
    puts: 0,
    acmeProxy: true,
    arrange: async (ctx) => {
      // Trust the ACME server's TLS only, not the root that issues; and the CA sends that root along.
      const [tlsCa] = (await readFile(ctx.proxy!.caFile, 'utf8')).split(/(?<=-----END CERTIFICATE-----)/);
      const caFile = join(ctx.world.dir, 'acme-tls-only.pem');
      await writeFile(caFile, `${tlsCa!.trim()}\n`);
      ctx.config = await ctx.world.writeConfig(
        { acme: { directoryUrl: ctx.proxy!.directoryUrl, email: 'ops@example.com', caFile } },
        { east: { certificates: { proxy: { domains: DOMAINS } } } },
      );
      const root = ctx.world.pebble!.issuingRootPem;
      ctx.proxy!.inject({ path: /certZ/, times: 1, transformBody: (pem) => `${pem.trimEnd()}\n${root}` });
    },
    after: (_ctx, outcome) => {
      expect(JSON.stringify(outcome.sent ?? [])).toMatch(/which its clients do not trust/);
    },
  },
  {
    fault: 'the cluster speaks only TLS 1.0/1.1',
    expected: 'TlsProtocolError with a hint for that cluster, cluster-unreachable alert, no credentials sent',
    outcome: { result: 'cluster-error', error: 'TlsProtocolError', alert: 'cluster-unreachable' },
    arrange: async (ctx) => {
      const old = await startOldTlsServer(ctx.world.dir);
      ctx.config = await ctx.world.writeConfig(
        {},
        {
          east: {
            endpoint: `https://127.0.0.1:${old.port}`,
            serverName: 'old-tls.redis.example.com',
            caFile: old.caFile,
            certificates: { proxy: { domains: DOMAINS } },
          },
        },
      );
    },
    after: (ctx, outcome) => {
      const old = oldTlsServers.at(-1)!;
      expect(old.received().length).toBeGreaterThan(0);
      expect(old.received().includes(Buffer.from('Authorization'))).toBe(false);
      expect(old.received().includes(Buffer.from(ctx.world.env.RS_PASSWORD_EAST!))).toBe(false);
      expect(old.secured()).toBe(0);
      expect(outcome.sent?.find((a) => a.kind === 'cluster-unreachable')).toMatchObject({
        error: {
          message: expect.stringContaining('no TLS protocol version in common'),
          hint: expect.any(String),
        },
      });
      expect(orders(ctx.world)).toBe(0);
    },
  },
];

let world: World | undefined;
let proxy: AcmeFaultProxy | undefined;
afterEach(async () => {
  await Promise.all(oldTlsServers.splice(0).map((server) => server.close()));
  await proxy?.close();
  await world?.close();
  world = undefined;
  proxy = undefined;
});

it("the README's fault table lists every fault with its expected behaviour", async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  for (const f of faults) expect(readme, f.fault).toContain(`| ${f.fault} | ${f.expected} |`);
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
      const stored = await readStored(ctx);
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

      // 4. The row's own checks: what the cluster received, what was alerted, what was printed.
      await fault.after?.(ctx, outcome);
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
    const seen = { sent: report.alerts, printed: run.stdout + run.stderr };
    if (cluster.error) return { result: 'cluster-error', error: cluster.error.name, alerts, ...seen };
    const proxyReport = cluster.certificates.find((c) => c.name === 'proxy')!;
    const result =
      proxyReport.action === 'renewed' || proxyReport.action === 'failed' || proxyReport.action === 'skipped'
        ? proxyReport.action
        : 'none';
    return { result, ...(proxyReport.error ? { error: proxyReport.error.name } : {}), alerts, ...seen };
  }
  const workflow = await localWorkflow(ctx.world, ctx.config, options);
  await workflow.execute();
  return fromAlerts(workflow.alerts);
}

function fromAlerts(alerts: Alert[]): Outcome {
  const kinds = alerts.map((a) => a.kind);
  const sent = [...alerts];
  const unreachable = alerts.find((a) => a.kind === 'cluster-unreachable');
  if (unreachable?.kind === 'cluster-unreachable')
    return { result: 'cluster-error', error: unreachable.error.name, alerts: kinds, sent };
  const failed = alerts.find((a) => a.kind === 'renewal-failed');
  if (failed?.kind === 'renewal-failed')
    return { result: 'failed', error: failed.error.name, alerts: kinds, sent };
  return { result: kinds.includes('renewed') ? 'renewed' : 'none', alerts: kinds, sent };
}

interface OldTlsServer {
  port: number;
  caFile: string;
  /** Every byte the client sent, seen by a TCP relay in front of the TLS server. */
  received: () => Buffer;
  /** Handshakes the TLS server completed. */
  secured: () => number;
  close: () => Promise<void>;
}
const oldTlsServers: OldTlsServer[] = [];

/** An HTTPS "cluster" that offers only TLS 1.0 and 1.1, behind a relay that records what it is sent. */
async function startOldTlsServer(dir: string): Promise<OldTlsServer> {
  const ca = await createCa({ commonName: 'Old TLS CA' });
  const leaf = await issueCert({ ca, dnsNames: ['old-tls.redis.example.com'] });
  const caFile = join(dir, 'old-tls-ca.pem');
  await writeFile(caFile, ca.certPem);
  let secured = 0;
  const server = createTlsServer(
    {
      key: leaf.keyPem,
      cert: leaf.chainPem,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    },
    (socket) => {
      secured++;
      socket.destroy();
    },
  );
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const chunks: Buffer[] = [];
  const relay = createTcpServer((client) => {
    const upstream = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const old: OldTlsServer = {
    port: (relay.address() as AddressInfo).port,
    caFile,
    received: () => Buffer.concat(chunks),
    secured: () => secured,
    close: async () => {
      await Promise.all([server, relay].map((s) => new Promise((r) => s.close(r))));
    },
  };
  oldTlsServers.push(old);
  return old;
}

/** Runs the real CLI in a child process and SIGKILLs it as soon as `when` holds. */
async function killCliWhen(ctx: Ctx, when: () => boolean): Promise<void> {
  const child = spawn(process.execPath, [CLI_PATH, 'renew', '--config', ctx.config], {
    env: { PATH: process.env.PATH, ...ctx.world.env },
    stdio: 'ignore',
  });
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

/** What the mode's state store holds for east/proxy: the CLI's state directory, or Secrets Manager on AWS. */
async function readStored(ctx: Ctx): Promise<StoredCertificate | null> {
  if (ctx.mode === 'sfn') return (await workflowState(ctx.world)).issued('east', 'proxy');
  try {
    return JSON.parse(await readFile(statePath(ctx.world), 'utf8')) as StoredCertificate;
  } catch {
    return null;
  }
}
