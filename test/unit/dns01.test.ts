/**
 * domain/dns01 and domain/dns-settings: which provider serves a name (levels, zones), CNAME chains
 * (loops, more than 8 links), the propagation wait on a virtual clock, and cleanup of every record
 * asked for; adapters/exec with small scripts (lego's contract, no shell, timeout, output).
 */
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecDnsProvider } from '../../lambdas/adapters/exec';
import { parseConfig } from '../../lambdas/domain/config/schema';
import { dnsProviderFor, longestPropagationMs } from '../../lambdas/domain/dns-settings';
import { Dns01Challenges, type Dns01Route, followChain, MAX_CNAME_LINKS } from '../../lambdas/domain/dns01';
import type { DnsLookup, DnsProvider, DnsRecord } from '../../lambdas/domain/ports';

/** A zone in memory: CNAMEs, TXT values written through the provider, visible after `delayPolls` checks. */
function fakeDns(cnames: Record<string, string> = {}, delayPolls = 0) {
  const txt = new Map<string, string[]>();
  const calls: string[] = [];
  let polls = 0;
  const provider: DnsProvider & { calls: string[] } = {
    calls,
    async present(fqdn, value) {
      calls.push(`present ${fqdn} ${value}`);
      txt.set(fqdn, [...(txt.get(fqdn) ?? []), value]);
    },
    async cleanup(fqdn, value) {
      calls.push(`cleanup ${fqdn} ${value}`);
      txt.set(
        fqdn,
        (txt.get(fqdn) ?? []).filter((v) => v !== value),
      );
    },
  };
  const lookup: DnsLookup = {
    async cname(fqdn) {
      return cnames[fqdn] ?? null;
    },
    async txtVisibility(fqdn, values) {
      polls++;
      const seen = polls > delayPolls ? (txt.get(fqdn) ?? []) : [];
      return [{ server: '192.0.2.53:53', missing: values.filter((v) => !seen.includes(v)) }];
    },
  };
  return { provider, lookup, txt, polls: () => polls };
}

function clock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    },
  };
}

const route = (dns: ReturnType<typeof fakeDns>, extra: Partial<Dns01Route> = {}): Dns01Route => ({
  provider: dns.provider,
  lookup: dns.lookup,
  followCnames: true,
  propagationTimeoutMs: 10_000,
  label: 'fake',
  ...extra,
});

describe('DNS-01 challenges', () => {
  it('writes each record where its CNAME chain ends, through the provider of its name, and cleans up there', async () => {
    const corp = fakeDns({
      '_acme-challenge.app.corp.example.com.': '_acme-challenge.app.acme.example.net.',
    });
    const cloud = fakeDns();
    const { clock: c } = clock();
    const challenges = new Dns01Challenges(
      (name) => (name.includes('corp') ? route(corp) : route(cloud)),
      c,
      1_000,
    );
    const records: DnsRecord[] = [
      { fqdn: '_acme-challenge.app.corp.example.com.', value: 'v1' },
      { fqdn: '_acme-challenge.web.cloud.example.org.', value: 'v2' },
    ];
    await challenges.presentAll(records);
    expect(corp.provider.calls).toEqual(['present _acme-challenge.app.acme.example.net. v1']);
    expect(cloud.provider.calls).toEqual(['present _acme-challenge.web.cloud.example.org. v2']);
    for (const r of records) await challenges.cleanup(r.fqdn, r.value);
    expect(corp.provider.calls.at(-1)).toBe('cleanup _acme-challenge.app.acme.example.net. v1');
    expect(cloud.provider.calls.at(-1)).toBe('cleanup _acme-challenge.web.cloud.example.org. v2');
    expect([...corp.txt.values(), ...cloud.txt.values()].flat()).toEqual([]);
  });

  it('does not follow CNAMEs with followCnames: false', async () => {
    const dns = fakeDns({ '_acme-challenge.a.example.com.': '_acme-challenge.a.example.net.' });
    await new Dns01Challenges(() => route(dns, { followCnames: false }), clock().clock, 1_000).present(
      '_acme-challenge.a.example.com.',
      'v',
    );
    expect(dns.provider.calls).toEqual(['present _acme-challenge.a.example.com. v']);
  });

  it('refuses a loop and a chain of more than 8 links, naming the links', async () => {
    const loop = fakeDns({ 'a.example.': 'b.example.', 'b.example.': 'a.example.' });
    await expect(followChain(loop.lookup, 'a.example.')).rejects.toMatchObject({
      name: 'DnsCnameLoopError',
      message: 'the CNAME chain of a.example. loops: a.example. -> b.example. -> a.example.',
    });
    const links = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}.example.`, `l${i + 1}.example.`]));
    expect(await followChain(fakeDns(links(MAX_CNAME_LINKS)).lookup, 'l0.example.')).toBe(
      `l${MAX_CNAME_LINKS}.example.`,
    );
    await expect(
      followChain(fakeDns(links(MAX_CNAME_LINKS + 1)).lookup, 'l0.example.'),
    ).rejects.toMatchObject({
      name: 'DnsCnameChainTooLongError',
      message: expect.stringContaining(`l${MAX_CNAME_LINKS + 1}.example.`),
    });
  });

  it('waits until every value is visible, polling at its interval', async () => {
    const dns = fakeDns({}, 2);
    const { clock: c, sleeps } = clock();
    await new Dns01Challenges(() => route(dns), c, 1_000).presentAll([
      { fqdn: '_acme-challenge.example.com.', value: 'wildcard' },
      { fqdn: '_acme-challenge.example.com.', value: 'apex' },
    ]);
    // One check for the shared name (both values), seen on the third poll.
    expect(dns.polls()).toBe(3);
    expect(sleeps).toEqual([1_000, 1_000]);
  });

  it('fails with DnsPropagationTimeoutError at the timeout, naming the server, and the records stay removable', async () => {
    const dns = fakeDns({}, Number.POSITIVE_INFINITY);
    const { clock: c } = clock();
    const challenges = new Dns01Challenges(() => route(dns, { propagationTimeoutMs: 3_000 }), c, 1_000);
    await expect(challenges.present('_acme-challenge.a.example.com.', 'v')).rejects.toMatchObject({
      name: 'DnsPropagationTimeoutError',
      records: ['_acme-challenge.a.example.com.'],
      message: expect.stringContaining(
        '_acme-challenge.a.example.com. at 192.0.2.53:53: 1 of the values missing',
      ),
    });
    expect(dns.polls()).toBe(4); // at 0, 1, 2 and 3 s
    await challenges.cleanup('_acme-challenge.a.example.com.', 'v');
    expect(dns.provider.calls).toEqual([
      'present _acme-challenge.a.example.com. v',
      'cleanup _acme-challenge.a.example.com. v',
    ]);
  });

  it('cleans up a record whose provider failed after asking, and nothing never asked for', async () => {
    const dns = fakeDns();
    const failing: DnsProvider = {
      present: async () => {
        throw new Error('applied, then the connection dropped');
      },
      cleanup: dns.provider.cleanup,
    };
    const challenges = new Dns01Challenges(
      () => ({ ...route(dns), provider: failing }),
      clock().clock,
      1_000,
    );
    await expect(challenges.present('_acme-challenge.a.example.com.', 'v')).rejects.toThrow(
      'connection dropped',
    );
    await challenges.cleanup('_acme-challenge.a.example.com.', 'v');
    await challenges.cleanup('_acme-challenge.never.example.com.', 'x');
    expect(dns.provider.calls).toEqual(['cleanup _acme-challenge.a.example.com. v']);
  });
});

describe('which provider serves a name', () => {
  const config = parseConfig({
    acme: { email: 'ops@example.com' },
    dns: [
      { provider: 'route53', propagationTimeoutSeconds: 300 },
      { provider: 'rfc2136', nameserver: '10.0.0.53:53', zones: ['corp.example.com'] },
    ],
    clusters: [
      {
        name: 'east',
        endpoint: 'https://east.example.com:9443',
        username: 'u',
        passwordEnv: 'P',
        dns: { provider: 'httpreq', endpoint: 'https://dns.example.com', zones: ['east.example.com'] },
        certificates: {
          proxy: { domains: ['*.east.example.com', 'db.corp.example.com', 'www.example.com'] },
          api: {
            domains: ['api.east.example.com'],
            dns: { provider: 'exec', command: ['/usr/local/bin/hook'] },
          },
        },
      },
    ],
  });
  const kind = (cluster: string, cert: string, name: string) =>
    dnsProviderFor(config, cluster, cert, name)?.provider;

  it('picks the most specific level that serves the name, then the longest zone', () => {
    expect(kind('east', 'proxy', '_acme-challenge.east.example.com.')).toBe('httpreq');
    expect(kind('east', 'proxy', '_acme-challenge.db.corp.example.com.')).toBe('rfc2136');
    expect(kind('east', 'proxy', '_acme-challenge.www.example.com.')).toBe('route53');
    expect(kind('east', 'api', '_acme-challenge.api.east.example.com.')).toBe('exec');
    expect(longestPropagationMs(config)).toBe(300_000);
  });
});

describe('the exec hook (lego contract)', () => {
  async function script(body: string) {
    const dir = await mkdtemp(join(tmpdir(), 'hook-'));
    const path = join(dir, 'hook.sh');
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return { dir, path };
  }

  it('runs `<command...> present|cleanup <fqdn> <value>` with no shell in between', async () => {
    const { dir, path } = await script('printf "%s|" "$@" >> "$(dirname "$0")/calls"; echo done');
    const hook = new ExecDnsProvider({ command: [path, '--zone-file', 'a b;c'], timeoutMs: 5_000 });
    await hook.present('_acme-challenge.a.example.com.', 'v$(id)');
    await hook.cleanup('_acme-challenge.a.example.com.', 'v$(id)');
    expect(await readFile(join(dir, 'calls'), 'utf8')).toBe(
      '--zone-file|a b;c|present|_acme-challenge.a.example.com.|v$(id)|--zone-file|a b;c|cleanup|_acme-challenge.a.example.com.|v$(id)|',
    );
  });

  it('fails with DnsHookError carrying the end of its output, escaped, and its exit code', async () => {
    const { path } = await script('echo "token rejected \\033[2J"; exit 3');
    await expect(
      new ExecDnsProvider({ command: [path], timeoutMs: 5_000 }).present('x.', 'v'),
    ).rejects.toMatchObject({
      name: 'DnsHookError',
      message: expect.stringMatching(/exited with 3; its output ended with: token rejected \\u001b\[2J$/),
    });
  });

  it('ends a hook that outlives its timeout, with what it started', async () => {
    const { dir, path } = await script('sleep 30 & echo $! > "$(dirname "$0")/child"; wait');
    await expect(
      new ExecDnsProvider({ command: [path], timeoutMs: 300 }).present('x.', 'v'),
    ).rejects.toMatchObject({
      name: 'DnsHookError',
      message: expect.stringContaining('did not finish within 0.3 s'),
    });
    const child = Number(await readFile(join(dir, 'child'), 'utf8'));
    // Gone, or a zombie waiting for its new parent to reap it: either way no longer running.
    await expect
      .poll(
        async () => {
          const stat = await readFile(`/proc/${child}/stat`, 'utf8').catch(() => '');
          return stat === '' || / Z /.test(stat) ? 'gone' : 'running';
        },
        { timeout: 5_000 },
      )
      .toBe('gone');
  });

  it('names a hook that cannot start', async () => {
    await expect(
      new ExecDnsProvider({ command: ['/nonexistent/hook'], timeoutMs: 1_000 }).present('x.', 'v'),
    ).rejects.toMatchObject({ name: 'DnsHookError', message: expect.stringContaining('could not start') });
  });
});
