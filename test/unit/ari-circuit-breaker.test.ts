/**
 * Issue 19 item 6: a check that cannot reach the CA's renewalInfo pays one timeout per run, not one
 * per certificate. The breaker in front of the ARI source (domain), and the adapter's part: which
 * failures are "unreachable" (no answer at all) and which are one certificate's answer.
 */

import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpsRenewalInfoSource } from '../../lambdas/adapters/acme/renewal-info';
import type { RenewalInfoAnswer } from '../../lambdas/domain/ari';
import { RenewalInfoError } from '../../lambdas/domain/errors';
import type { RenewalInfoSource } from '../../lambdas/domain/ports';
import { ARI_SKIPPED, circuitBreaker, renewalInfoForRun } from '../../lambdas/domain/renewal/renewal-info';

const answer: RenewalInfoAnswer = {
  start: new Date('2026-12-01T00:00:00Z'),
  end: new Date('2026-12-02T00:00:00Z'),
  retryAfterSeconds: 21_600,
} as unknown as RenewalInfoAnswer;

/** A source whose answers the test scripts, counting every call. */
function scriptedSource(script: (certId: string, call: number) => Promise<RenewalInfoAnswer | null>) {
  const calls: string[] = [];
  const source: RenewalInfoSource = {
    renewalInfo: (certId) => {
      calls.push(certId);
      return script(certId, calls.length);
    },
    profiles: async () => {
      calls.push('profiles');
      return null;
    },
  };
  return { source, calls };
}

const unreachable = () =>
  new RenewalInfoError('GET https://ca.example/renewal-info/x failed: no answer within 10000 ms', {
    unreachable: true,
  });

describe('the ARI circuit breaker', () => {
  it('stops asking after the CA could not be reached: one request, one logged line, every other certificate skipped at once', async () => {
    const { source, calls } = scriptedSource(async () => {
      throw unreachable();
    });
    const logged: string[] = [];
    const breaker = circuitBreaker(source, (m) => logged.push(m));
    // Side by side, as the check reads clusters: until one request reaches the CA, one at a time.
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => breaker.renewalInfo(`cert.${i}`)),
    );
    expect(calls).toEqual(['cert.0']);
    expect(logged).toEqual([
      `${ARI_SKIPPED}, the lifetime policy decides instead: GET https://ca.example/renewal-info/x failed: no answer within 10000 ms`,
    ]);
    for (const r of results.slice(1)) {
      expect(r.status).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason as RenewalInfoError;
      expect(error).toBeInstanceOf(RenewalInfoError);
      expect(error.message.startsWith(`${ARI_SKIPPED}: the CA could not be reached`)).toBe(true);
    }
    await expect(breaker.profiles()).rejects.toThrow(ARI_SKIPPED);
    expect(calls).toHaveLength(1);
  });

  it('keeps asking after a 404 or an error answer for one certificate: the CA answered', async () => {
    const { source, calls } = scriptedSource(async (certId) => {
      if (certId === 'cert.0')
        throw new RenewalInfoError('renewalInfo for cert.0 answered 404 (not issued by this CA)');
      if (certId === 'cert.1') throw new RenewalInfoError('renewalInfo for cert.1 answered 500');
      return answer;
    });
    const logged: string[] = [];
    const breaker = circuitBreaker(source, (m) => logged.push(m));
    const results = await Promise.allSettled(
      ['cert.0', 'cert.1', 'cert.2', 'cert.3'].map((c) => breaker.renewalInfo(c)),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(calls).toEqual(['cert.0', 'cert.1', 'cert.2', 'cert.3']);
    expect(logged).toEqual([]);
  });

  it('goes side by side once the CA answered, and opens on a later timeout', async () => {
    let inFlight = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { source, calls } = scriptedSource(async (certId, call) => {
      if (call === 1) return answer;
      inFlight++;
      most = Math.max(most, inFlight);
      await gate;
      inFlight--;
      if (certId === 'cert.3') throw unreachable();
      return answer;
    });
    const breaker = circuitBreaker(source, () => undefined);
    await breaker.renewalInfo('cert.0');
    const pending = ['cert.1', 'cert.2', 'cert.3'].map((c) => breaker.renewalInfo(c));
    await new Promise((resolve) => setImmediate(resolve));
    expect(most).toBe(3);
    release();
    await Promise.allSettled(pending);
    await expect(breaker.renewalInfo('cert.4')).rejects.toThrow(ARI_SKIPPED);
    expect(calls).toEqual(['cert.0', 'cert.1', 'cert.2', 'cert.3']);
  });

  it('is made per run: the next run asks the CA again; acme.ari false asks nothing', async () => {
    const { source, calls } = scriptedSource(async () => {
      throw unreachable();
    });
    const deps = {
      source,
      windows: { read: async () => null, write: async () => undefined },
      log: () => undefined,
    };
    const config = {
      acme: { directoryUrl: 'https://ca.example/dir', email: 'a@example.com', keyType: 'rsa-2048' as const },
    };
    for (let run = 0; run < 2; run++) {
      const ari = renewalInfoForRun(config, deps);
      await expect(ari?.source.renewalInfo('c.1')).rejects.toThrow();
      await expect(ari?.source.renewalInfo('c.2')).rejects.toThrow(ARI_SKIPPED);
    }
    expect(calls).toEqual(['c.1', 'c.1']);
    expect(renewalInfoForRun({ acme: { ...config.acme, ari: false } }, deps)).toBeUndefined();
  });
});

describe('the renewalInfo source over HTTPS: what counts as unreachable', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A TCP server that accepts and then never answers, or resets at once. */
  async function blackHole(mode: 'hang' | 'reset'): Promise<{ url: string; connections: () => number }> {
    let connections = 0;
    server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      if (mode === 'reset') socket.resetAndDestroy();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `https://127.0.0.1:${port}/directory`, connections: () => connections };
  }

  it.each(['hang', 'reset'] as const)(
    'a directory that %ss: unreachable, one connection for the whole run',
    async (mode) => {
      const ca = await blackHole(mode);
      const source = new HttpsRenewalInfoSource({ directoryUrl: ca.url, timeoutMs: 300 });
      const logged: string[] = [];
      const breaker = circuitBreaker(source, (m) => logged.push(m));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => breaker.renewalInfo(`a.${i}`)),
      );
      expect(results.every((r) => r.status === 'rejected')).toBe(true);
      const first = (results[0] as PromiseRejectedResult).reason as RenewalInfoError;
      expect(first.unreachable).toBe(true);
      expect(first.hint).toMatch(/acme\.ari to false/);
      expect(ca.connections()).toBe(1);
      expect(logged).toHaveLength(1);
      source.close();
    },
  );
});
