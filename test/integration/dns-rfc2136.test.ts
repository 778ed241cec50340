/**
 * DNS-01 as enterprises run it, end to end through the built executable: a real BIND 9 on loopback
 * with a TSIG key and three zones (example.com holds `_acme-challenge` CNAMEs into
 * validation.example.net), Pebble validating against that BIND, the RS simulator receiving the
 * certificates. Renewals through RFC 2136, through CNAME delegation, and through an exec hook mixed
 * with RFC 2136 in one order; a wrong TSIG key, a CNAME loop and an update that propagates too late
 * each fail by name with nothing pushed, nothing left in the zone, and (for the propagation check)
 * nothing asked of the CA.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WireDnsLookup } from '../../lambdas/adapters/dns-lookup';
import { ask, RRTYPE } from '../../lambdas/adapters/dns-wire';
import type { RenewReport } from '../../lambdas/domain/renewal/runner';
import { type AcmeFaultProxy, startAcmeFaultProxy } from '../support/acme-fault-proxy';
import { type BindServer, newTsigKey, startBind } from '../support/bind';
import { type BuiltCli, buildCli } from '../support/built-cli';
import { daysFromNow, startWorld, type World } from '../support/world';

const expiring = { notBefore: daysFromNow(-85), notAfter: daysFromNow(5) };

describe('DNS-01 through a real BIND 9 (RFC 2136, CNAME delegation, exec, propagation check)', () => {
  let bind: BindServer;
  let late: BindServer;
  let world: World;
  let cli: BuiltCli;
  let proxy: AcmeFaultProxy;
  const key = newTsigKey('watchdog-key');

  beforeAll(async () => {
    [bind, cli] = await Promise.all([
      startBind({
        key,
        // Pebble asks it as a resolver would: the CNAME into validation.example.net is followed.
        recursive: true,
        zones: [
          {
            name: 'example.com',
            records: [
              '_acme-challenge.delegated CNAME _acme-challenge.delegated.validation.example.net.',
              '_acme-challenge.loop CNAME _acme-challenge.loop2.example.com.',
              '_acme-challenge.loop2 CNAME _acme-challenge.loop.example.com.',
            ],
          },
          { name: 'validation.example.net' },
          { name: 'example.org' },
        ],
      }),
      buildCli(),
    ]);
    // A secondary that transferred the zones once and is never notified: updates reach it too late.
    late = await startBind({ zones: [], secondaryOf: bind });
    world = await startWorld({
      clusters: {
        'prod-east': {
          certificates: {
            api: { dnsNames: ['cluster.example.com'], ...expiring },
            proxy: { dnsNames: ['delegated.example.com'], ...expiring },
            cm: { dnsNames: ['mixed.example.com'], ...expiring },
            metrics_exporter: { dnsNames: ['loop.example.com'], ...expiring },
          },
        },
      },
      pebble: { dnsServer: bind.address },
    });
    proxy = await startAcmeFaultProxy(world.pebble!, world.dir);
  });
  afterAll(async () => {
    await proxy?.close();
    await world?.close();
    await late?.stop();
    await bind?.stop();
  });

  const rfc2136 = (extra: Record<string, unknown> = {}) => ({
    provider: 'rfc2136',
    nameserver: bind.address,
    tsigKeyName: key.name,
    tsigSecretEnv: 'TSIG_SECRET',
    resolvers: [bind.address],
    ...extra,
  });

  /** Every TXT value BIND's primary serves at a name right now (no cache in between). */
  async function txt(name: string): Promise<string[]> {
    const answer = await ask({ host: '127.0.0.1', port: bind.port }, name, RRTYPE.TXT, {
      recursionDesired: false,
      timeoutMs: 2_000,
    });
    return answer.answers.filter((r) => r.type === RRTYPE.TXT).map((r) => r.value);
  }

  /** The TXT changes BIND applied (its update log), in order: "adding an RR at 'name' TXT". */
  const updates = () =>
    [...bind.log().matchAll(/updating zone '([^/]+)\/IN': (adding|deleting) an RR at '?([^' ]+)'? TXT/g)].map(
      (m) => `${m[2]} ${m[3]} in ${m[1]}`,
    );

  const puts = () => world.sims['prod-east']!.requests.filter((r) => r.method === 'PUT');

  async function renew(config: Record<string, unknown>, env: NodeJS.ProcessEnv, ...args: string[]) {
    const path = join(world.dir, 'dns-config.json');
    await writeFile(path, JSON.stringify(config, null, 2));
    const run = await cli.run({ ...world.env, ...env }, 'renew', '--config', path, '--json', ...args);
    return { ...run, report: JSON.parse(run.stdout) as RenewReport };
  }

  function baseConfig(dns: unknown, certificates: Record<string, unknown>, acme?: Record<string, unknown>) {
    const sim = world.sims['prod-east']!;
    return {
      stateDir: join(world.dir, 'state'),
      acme: {
        directoryUrl: world.pebble!.directoryUrl,
        email: 'ops@example.com',
        caFile: world.pebble!.caFile,
        ...acme,
      },
      dns,
      pushRetry: {
        maxAttempts: 1,
        intervalSeconds: 0.05,
        backoffRate: 2,
        maxDelaySeconds: 0.2,
        jitter: 'NONE',
      },
      clusters: [
        {
          name: 'prod-east',
          endpoint: sim.url,
          serverName: 'cluster.example.com',
          username: sim.username,
          passwordEnv: 'RS_PASSWORD_PROD_EAST',
          caFile: join(world.dir, 'prod-east-ca.pem'),
          timeoutSeconds: 5,
          certificates,
        },
      ],
    };
  }

  it('renews through RFC 2136 with TSIG, through a CNAME into the validation zone, and through an exec hook in the same order as RFC 2136', async () => {
    const hookLog = join(world.dir, 'hook.log');
    const hook = join(world.dir, 'dns-hook.sh');
    // lego's exec contract, writing to BIND with nsupdate; it prints what it does (kept out of the report).
    await writeFile(
      hook,
      [
        '#!/bin/sh',
        'set -e',
        'echo "$1 $2 $3" >> "$HOOK_LOG"',
        'echo "hook says: $1 $2"',
        'if [ "$1" = present ]; then change="update add $2 60 TXT \\"$3\\""; else change="update delete $2 TXT \\"$3\\""; fi',
        'printf "server 127.0.0.1 %s\\n%s\\nsend\\n" "$BIND_PORT" "$change" | nsupdate -y "$TSIG"',
        '',
      ].join('\n'),
    );
    await chmod(hook, 0o755);
    const sim = world.sims['prod-east']!;
    const before = {
      api: sim.certificate('api')!.fingerprint256,
      proxy: sim.certificate('proxy')!.fingerprint256,
      cm: sim.certificate('cm')!.fingerprint256,
    };

    const { code, report, stderr } = await renew(
      baseConfig(rfc2136(), {
        api: { domains: ['cluster.example.com'] },
        proxy: { domains: ['delegated.example.com'] },
        // One order, two providers: example.com through RFC 2136, example.org through the hook.
        cm: {
          domains: ['mixed.example.com', 'mixed.example.org'],
          dns: [
            { provider: 'exec', command: [hook], zones: ['example.org'], resolvers: [bind.address] },
            rfc2136({ zones: ['example.com'] }),
          ],
        },
      }),
      {
        TSIG_SECRET: key.secret,
        HOOK_LOG: hookLog,
        BIND_PORT: String(bind.port),
        TSIG: `${key.algorithm}:${key.name}:${key.secret}`,
      },
      '--force',
      'prod-east/api',
      '--force',
      'prod-east/proxy',
      '--force',
      'prod-east/cm',
    );
    const certs = Object.fromEntries(report.clusters[0]!.certificates.map((c) => [c.name, c]));
    expect({ api: certs.api?.error, proxy: certs.proxy?.error, cm: certs.cm?.error }, stderr).toEqual({
      api: null,
      proxy: null,
      cm: null,
    });
    expect([certs.api?.action, certs.proxy?.action, certs.cm?.action]).toEqual([
      'renewed',
      'renewed',
      'renewed',
    ]);
    for (const name of ['api', 'proxy', 'cm'] as const) {
      expect(sim.certificate(name)!.fingerprint256).not.toBe(before[name]);
      expect(sim.certificate(name)!.fingerprint256).toBe(certs[name]!.renewed!.fingerprint256);
    }
    expect(code).toBe(1); // the loop certificate (metrics_exporter) is expiring and not managed here

    // Written where each chain ends, through the right channel, and removed again.
    const applied = updates();
    expect(applied).toContain('adding _acme-challenge.cluster.example.com in example.com');
    expect(applied).toContain('deleting _acme-challenge.cluster.example.com in example.com');
    expect(applied).toContain(
      'adding _acme-challenge.delegated.validation.example.net in validation.example.net',
    );
    expect(applied).toContain(
      'deleting _acme-challenge.delegated.validation.example.net in validation.example.net',
    );
    expect(applied).not.toContain('adding _acme-challenge.delegated.example.com in example.com');
    expect(applied).toContain('adding _acme-challenge.mixed.example.com in example.com');
    expect(applied).toContain('adding _acme-challenge.mixed.example.org in example.org');
    const { readFile } = await import('node:fs/promises');
    const hookCalls = (await readFile(hookLog, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(hookCalls).toEqual([
      'present _acme-challenge.mixed.example.org.',
      'cleanup _acme-challenge.mixed.example.org.',
    ]);
    for (const name of [
      '_acme-challenge.cluster.example.com',
      '_acme-challenge.delegated.validation.example.net',
      '_acme-challenge.mixed.example.com',
      '_acme-challenge.mixed.example.org',
    ])
      expect(await txt(name), name).toEqual([]);
    // The hook's output stays out of the report (it succeeded).
    expect(JSON.stringify(report)).not.toContain('hook says');
  });

  it('refuses with DnsTsigError when the TSIG secret is wrong: nothing written, nothing ordered to validate, nothing pushed', async () => {
    const putsBefore = puts().length;
    const updatesBefore = updates().length;
    const { code, report } = await renew(
      baseConfig(rfc2136(), { api: { domains: ['cluster.example.com'] } }),
      { TSIG_SECRET: newTsigKey().secret },
      '--force',
      'prod-east/api',
    );
    const api = report.clusters[0]!.certificates.find((c) => c.name === 'api')!;
    expect(code).toBe(1);
    expect(api.action).toBe('failed');
    expect(api.error).toMatchObject({ name: 'DnsTsigError' });
    expect(api.error?.message).toContain('BADSIG');
    expect(api.error?.hint).toContain('TSIG_SECRET');
    expect(puts().length).toBe(putsBefore);
    expect(updates().length).toBe(updatesBefore);
  });

  it('refuses a CNAME loop by name, naming its links', async () => {
    const putsBefore = puts().length;
    const { report } = await renew(
      baseConfig(rfc2136(), { metrics_exporter: { domains: ['loop.example.com'] } }),
      { TSIG_SECRET: key.secret },
      '--force',
      'prod-east/metrics_exporter',
    );
    const cert = report.clusters[0]!.certificates.find((c) => c.name === 'metrics_exporter')!;
    expect(cert.error).toMatchObject({ name: 'DnsCnameLoopError' });
    expect(cert.error?.message).toContain(
      '_acme-challenge.loop.example.com. -> _acme-challenge.loop2.example.com. -> _acme-challenge.loop.example.com.',
    );
    expect(puts().length).toBe(putsBefore);
  });

  it('waits for the propagation check, and fails by name when the record is not visible in time: the CA is never asked, the record is removed', async () => {
    const putsBefore = puts().length;
    const hitsBefore = proxy.hits.length;
    const { code, report } = await renew(
      baseConfig(
        // The check asks the secondary, which the update never reaches.
        rfc2136({ resolvers: [late.address], propagationTimeoutSeconds: 1 }),
        { api: { domains: ['cluster.example.com'] } },
        { directoryUrl: proxy.directoryUrl, caFile: proxy.caFile },
      ),
      { TSIG_SECRET: key.secret },
      '--force',
      'prod-east/api',
    );
    const api = report.clusters[0]!.certificates.find((c) => c.name === 'api')!;
    expect(code).toBe(1);
    expect(api.error).toMatchObject({ name: 'DnsPropagationTimeoutError' });
    expect(api.error?.message).toContain(`_acme-challenge.cluster.example.com. at ${late.address}`);
    // Published at the primary, then removed; no challenge was ever answered at the CA.
    const applied = updates();
    expect(applied.slice(-2)).toEqual([
      'adding _acme-challenge.cluster.example.com in example.com',
      'deleting _acme-challenge.cluster.example.com in example.com',
    ]);
    expect(await txt('_acme-challenge.cluster.example.com')).toEqual([]);
    const asked = proxy.hits.slice(hitsBefore);
    expect(asked.some((h) => /order-plz/.test(h.path))).toBe(true);
    expect(asked.filter((h) => h.method === 'POST' && /chalZ/.test(h.path))).toEqual([]);
    expect(puts().length).toBe(putsBefore);
  });

  it("without resolvers, asks the zone's authoritative servers (found through the system's resolvers)", async () => {
    const lookup = new WireDnsLookup({ systemResolvers: () => [bind.address], authoritativePort: bind.port });
    expect(await lookup.cname('_acme-challenge.delegated.example.com.')).toBe(
      '_acme-challenge.delegated.validation.example.net.',
    );
    expect(await lookup.cname('_acme-challenge.cluster.example.com.')).toBeNull();
    const views = await lookup.txtVisibility('_acme-challenge.nothing.example.org.', ['a']);
    // ns1.example.org is 127.0.0.1: the authoritative server is the BIND itself, asked without recursion.
    expect(views).toEqual([{ server: bind.address, missing: ['a'] }]);
  });
});
