/**
 * Issue 24's check-path changes keep their meaning: the bounded JSON pre-scan skips string content
 * without ever counting a bracket inside a string (escapes included); a cluster's TLS session is
 * resumed on its next check only under the same trust, server name and password login; and the
 * inspection memory is neither re-read nor re-exported by a warm run that met nothing new, nor
 * re-exported by a new process that met the same fleet as the last.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forgetTlsSessions, RsTransport } from '../../lambdas/adapters/rs-https/transport';
import { parseBoundedJson, RS_JSON_LIMITS } from '../../lambdas/domain/bounded-json';
import { clearInspectionCache } from '../../lambdas/domain/certificate';
import { summarizeFleet } from '../../lambdas/domain/fleet-metrics';
import {
  inspectionMemoryByScope,
  recordInspectionMemory,
} from '../../lambdas/domain/inspection-memory-records';
import type { ListOptions, RecordStore } from '../../lambdas/domain/ports';
import type { ClusterReport } from '../../lambdas/domain/report';
import { inspectCertificate } from '../../lambdas/domain/report';
import { RS_GET_RETRY } from '../../lambdas/domain/retry';
import { ClusterCertificateSet } from '../../lambdas/domain/rs/client';
import { createCa, issueCert, type TestCa } from '../support/pki';

describe('bounded JSON pre-scan', () => {
  const limits = { maxLength: 1_000_000, maxDepth: 3, maxValues: 50 };

  it('counts no bracket or comma inside strings, escaped quotes and backslashes included', () => {
    const inside = `"${'[{,'.repeat(400)}"`;
    expect(parseBoundedJson(`{"a":${inside}}`, limits)).toEqual({
      ok: true,
      value: { a: '[{,'.repeat(400) },
    });
    // \" does not end the string; \\ before a quote does.
    const tricky = String.raw`{"a":"x\"[[[[,,,,","b":"\\","c":["\\\"[[[["]}`;
    expect(parseBoundedJson(tricky, limits)).toEqual({ ok: true, value: JSON.parse(tricky) });
    const pem = JSON.stringify({ proxy_cert: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n`.repeat(30) });
    expect(parseBoundedJson(pem, RS_JSON_LIMITS)).toMatchObject({ ok: true });
  });

  it('still counts what is outside strings, after strings', () => {
    expect(parseBoundedJson('["a",["b",["c",["d"]]]]', limits)).toMatchObject({
      ok: false,
      reason: 'too-deep',
    });
    const many = `[${Array.from({ length: 60 }, (_, i) => `"${i}\\""`).join(',')}]`;
    expect(parseBoundedJson(many, limits)).toMatchObject({ ok: false, reason: 'too-many-values' });
  });

  it('gives the verdict of a character-by-character scan on random texts (the scan it replaced)', () => {
    // The former scan, kept here as the oracle: it visits every character.
    const oracle = (text: string, l: typeof limits) => {
      let depth = 0;
      let values = 0;
      let inString = false;
      for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
          continue;
        }
        if (c === '"') inString = true;
        else if (c === '[' || c === '{') {
          if (++depth > l.maxDepth) return 'too-deep';
          if (++values > l.maxValues) return 'too-many-values';
        } else if (c === ']' || c === '}') depth--;
        else if (c === ',' && ++values > l.maxValues) return 'too-many-values';
      }
      try {
        JSON.parse(text);
        return 'ok';
      } catch {
        return 'malformed';
      }
    };
    const alphabet = ['"', '\\', '[', ']', '{', '}', ',', 'a', ':', '1', ' ', '\\"', '"x"', '"\\\\"'];
    let seed = 11;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const small = { maxLength: 10_000, maxDepth: 3, maxValues: 6 };
    for (let trial = 0; trial < 3_000; trial++) {
      const text = Array.from(
        { length: Math.floor(random() * 24) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join('');
      const result = parseBoundedJson(text, small);
      expect(result.ok ? 'ok' : result.reason, JSON.stringify(text)).toBe(oracle(text, small));
    }
  });

  it('calls an unterminated string or a trailing backslash malformed, never throws', () => {
    expect(parseBoundedJson('{"a":"never ends', limits)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseBoundedJson('{"a":"x\\', limits)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseBoundedJson('"', limits)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

describe('TLS sessions between checks of one cluster', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let server: Server;
  let url: URL;
  /** Whether each TLS connection the server accepted resumed a session, in order. */
  const resumed: boolean[] = [];

  beforeAll(async () => {
    ca = await createCa();
    otherCa = await createCa();
    const leaf = await issueCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    server = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    server.on('secureConnection', (socket: TLSSocket) => resumed.push(socket.isSessionReused()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    forgetTlsSessions();
    resumed.length = 0;
  });

  const transport = (
    extraCa: string[],
    login: 'password' | 'certificate' = 'password',
    serverName?: string,
  ) =>
    new RsTransport({
      cluster: 'c1',
      baseUrl: url,
      serverName,
      username: login === 'password' ? 'u' : '',
      password: login === 'password' ? 'p' : '',
      extraCa,
      connectTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      getRetries: RS_GET_RETRY.retries,
      retryBackoff: RS_GET_RETRY.backoff,
    });

  /** One check's worth of traffic: two requests on one transport, then it is closed. */
  async function check(t: RsTransport): Promise<void> {
    try {
      expect((await t.send('GET', '/v1/cluster/certificates')).status).toBe(200);
      expect((await t.send('GET', '/v1/nodes')).status).toBe(200);
    } finally {
      t.close();
    }
  }

  it('resumes the last check’s session under the same trust; a new connection within a check is not made', async () => {
    await check(transport([ca.certPem]));
    await check(transport([ca.certPem]));
    expect(resumed).toEqual([false, true]);
  });

  it('never resumes under another trust set or server name', async () => {
    await check(transport([ca.certPem]));
    await check(transport([`${otherCa.certPem}\n${ca.certPem}`]));
    await check(transport([ca.certPem], 'password', '127.0.0.1'));
    expect(resumed).toEqual([false, false, false]);
  });

  it('an untrusted server is refused whether or not a session was kept for its address', async () => {
    await check(transport([ca.certPem]));
    const error = await check(transport([otherCa.certPem])).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TlsTrustError' });
  });
});

/** Records in memory that log each call: `put <sort>`, `delete <sort>`, `list` or `list <sortPrefix>`. */
function loggedRecords(): { records: RecordStore; calls: string[]; data: Map<string, unknown> } {
  const calls: string[] = [];
  const data = new Map<string, unknown>();
  const records: RecordStore = {
    get: async () => null,
    put: async (key, value) => {
      calls.push(`put ${key.sort}`);
      data.set(key.sort, value);
    },
    create: async () => true,
    delete: async (key) => {
      calls.push(`delete ${key.sort}`);
      data.delete(key.sort);
    },
    list: async <T>(_partition: string, options?: ListOptions) => {
      const prefix = options?.sortPrefix ?? '';
      calls.push(prefix ? `list ${prefix}` : 'list');
      return [...data.entries()]
        .filter(([sort]) => sort.startsWith(prefix))
        .map(([sort, value]) => ({ sort, value: value as T }));
    },
  };
  return { records, calls, data };
}

describe('inspection memory in the records, the runs after the first', () => {
  it('a warm run that met nothing new neither reads nor writes the memory; a new certificate is saved', async () => {
    clearInspectionCache();
    const { records, calls } = loggedRecords();
    const memory = recordInspectionMemory(records);
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const inspect = (pem: string) =>
      inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: pem }), {
        now: new Date(),
        renewBeforeDays: 30,
        managed: false,
      });
    await memory.load();
    inspect(a.certPem);
    await memory.save();
    expect(calls).toEqual(['list', 'put shard-0000']);
    calls.length = 0;
    // The next invocation of the same process: the same fleet.
    await memory.load();
    inspect(a.certPem);
    await memory.save();
    expect(calls).toEqual([]);
    // A certificate changed on a cluster: read it, and save the memory again.
    const b = await issueCert({ ca, dnsNames: ['b.example.com'] });
    await memory.load();
    inspect(b.certPem);
    await memory.save();
    expect(calls).toEqual(['put shard-0000']);
  });

  it('a new process that loads the memory of the same fleet neither writes nor serializes it again; one that used less rewrites it', async () => {
    clearInspectionCache();
    const { records, calls, data } = loggedRecords();
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'] });
    const run = async (pems: string[]) => {
      // A new process: empty caches, a new store over the same records.
      clearInspectionCache();
      const memory = recordInspectionMemory(records);
      await memory.load();
      for (const pem of pems)
        inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: pem }), {
          now: new Date(),
          renewBeforeDays: 30,
          managed: false,
        });
      await memory.save();
    };
    await run([a.certPem, b.certPem]);
    expect(calls).toEqual(['list', 'put shard-0000']);
    const saved = structuredClone(data.get('shard-0000'));
    // Counts each time the loaded memory is turned back into text (JSON.stringify calls toJSON).
    let serialized = 0;
    Object.defineProperty(data.get('shard-0000'), 'toJSON', {
      value() {
        serialized++;
        return { ...this };
      },
    });
    calls.length = 0;
    await run([b.certPem, a.certPem]);
    expect(calls).toEqual(['list']);
    expect(serialized).toBe(0);
    expect(data.get('shard-0000')).toEqual(saved);
    calls.length = 0;
    // b's cluster left the fleet: the memory follows it.
    await run([a.certPem]);
    expect(calls).toEqual(['list', 'put shard-0000']);
    expect(Object.keys((data.get('shard-0000') as { leaves: object }).leaves)).toHaveLength(1);
  });

  it("a shard run again by a warm function finds its store: no read, no write; another shard's run in between loses nothing", async () => {
    clearInspectionCache();
    const { records, calls, data } = loggedRecords();
    // What the check function's wiring gives its shard handler (lambdas/wiring/check-context.ts).
    const memoryOf = inspectionMemoryByScope(records);
    const ca = await createCa();
    const a = await issueCert({ ca, dnsNames: ['a.example.com'] });
    const b = await issueCert({ ca, dnsNames: ['b.example.com'] });
    const run = async (scope: string, pem: string) => {
      const memory = memoryOf(scope);
      await memory.load();
      inspectCertificate('proxy', new ClusterCertificateSet({ proxy_cert: pem }), {
        now: new Date(),
        renewBeforeDays: 30,
        managed: false,
      });
      await memory.save();
    };
    await run('shard-a', a.certPem);
    expect(calls).toEqual(['list shard-a/', 'put shard-a/shard-0000']);
    calls.length = 0;
    await run('shard-a', a.certPem);
    expect(calls).toEqual([]);
    await run('shard-b', b.certPem);
    expect(calls).toEqual(['list shard-b/', 'put shard-b/shard-0000']);
    calls.length = 0;
    // B's run added to the caches: A reads its memory again, and finds nothing to write.
    await run('shard-a', a.certPem);
    expect(calls).toEqual(['list shard-a/']);
    const leaves = (sort: string) => Object.keys((data.get(sort) as { leaves: object }).leaves);
    expect(leaves('shard-a/shard-0000')).toHaveLength(1);
    expect(leaves('shard-b/shard-0000')).toHaveLength(1);
    expect(leaves('shard-a/shard-0000')).not.toEqual(leaves('shard-b/shard-0000'));
    // A new store per invocation (what the wiring did before) reads the memory every time.
    calls.length = 0;
    await recordInspectionMemory(records, 'shard-a').load();
    expect(calls).toEqual(['list shard-a/']);
  });
});

describe('the soonest expiries of a fleet summary', () => {
  it('are what sorting every certificate and keeping the first ten gives, ties and all', () => {
    const at = new Date('2026-12-01T00:00:00Z');
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 50; trial++) {
      const clusters = Array.from({ length: 1 + Math.floor(random() * 40) }, (_, c) => ({
        name: ['prod-a', 'prod-B', 'a-b', 'ab', 'é-east'][c % 5] + String(Math.floor(random() * 3)),
        error: null,
        certificates: Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => ({
          name: ['proxy', 'api', 'cm', 'syncer'][i % 4] as string,
          // Few distinct expiries: most certificates tie on days left and are ordered by name.
          notAfter: new Date(at.getTime() + Math.floor(random() * 4) * 86_400_000).toISOString(),
          status: 'ok',
          managed: false,
          action: 'none',
          lifetimeDays: 90,
        })),
      }));
      const top = trial % 3 === 0 ? 3 : 10;
      const got = summarizeFleet(clusters as unknown as ClusterReport[], at, top).soonest;
      const all = clusters.flatMap((c) =>
        c.certificates.map((cert) => ({ cluster: c.name, certificate: cert.name, notAfter: cert.notAfter })),
      );
      const reference = all
        .map((x) => ({
          ...x,
          daysLeft: Math.round(((Date.parse(x.notAfter) - at.getTime()) / 86_400_000) * 100) / 100,
        }))
        .sort(
          (a, b) =>
            a.daysLeft - b.daysLeft ||
            a.cluster.localeCompare(b.cluster) ||
            a.certificate.localeCompare(b.certificate),
        )
        .slice(0, top);
      expect(got.map((s) => [s.cluster, s.certificate, s.daysLeft])).toEqual(
        reference.map((s) => [s.cluster, s.certificate, s.daysLeft]),
      );
    }
  });
});
