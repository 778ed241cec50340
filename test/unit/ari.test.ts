import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  certIdOf,
  certIdParts,
  parseRenewalInfo,
  parseRetryAfter,
  storedWindowFresh,
  windowFromAnswer,
} from '../../lambdas/domain/ari';
import { RenewalInfoError } from '../../lambdas/domain/errors';
import { ariCertId } from '../support/ari-server';

const execFileAsync = promisify(execFile);

// The worked example of Let's Encrypt's ARI integration guide (and RFC 9773 §4.1).
const EXAMPLE_AKI = '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4';
const EXAMPLE_CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

/** A self-signed certificate from the openssl CLI: independent of the code under test. */
async function opensslCert(serialHex: string, ski: string): Promise<X509Certificate> {
  const { stdout } = await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    '/dev/null',
    '-subj',
    '/CN=certID fixture',
    '-days',
    '1',
    '-set_serial',
    `0x${serialHex}`,
    '-addext',
    `subjectKeyIdentifier=${ski}`,
    '-addext',
    'authorityKeyIdentifier=keyid:always',
  ]);
  return new X509Certificate(stdout);
}

describe('certIdOf (RFC 9773 §4.1)', () => {
  it('gives the worked example: serial 0x87654321 has its top bit set, so its DER keeps a leading 0x00', async () => {
    const cert = await opensslCert('87654321', EXAMPLE_AKI);
    expect(certIdOf(cert.raw)).toBe(EXAMPLE_CERT_ID);
    expect(Buffer.from(certIdParts(cert.raw).serial).toString('hex')).toBe('0087654321');
    // node's serialNumber drops the 0x00: building the certID from it would be the classic bug.
    expect(cert.serialNumber).toBe('87654321');
  });

  it('keeps a serial without the top bit as it is (no 0x00 added)', async () => {
    const cert = await opensslCert('1234567890abcdef', EXAMPLE_AKI);
    const [, serial] = certIdOf(cert.raw).split('.');
    expect(Buffer.from(serial!, 'base64url').toString('hex')).toBe('1234567890abcdef');
  });

  it('keeps the 0x00 of a long serial whose top bit is set, and agrees with the independent oracle', async () => {
    const cert = await opensslCert(
      'ff00112233445566778899aabbccddeeff',
      '01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14',
    );
    const id = certIdOf(cert.raw);
    expect(Buffer.from(id.split('.')[1]!, 'base64url').toString('hex')).toBe(
      '00ff00112233445566778899aabbccddeeff',
    );
    expect(id.split('.')[0]).toBe(
      Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex').toString('base64url'),
    );
    expect(id).toBe(ariCertId(cert));
    expect(id).not.toContain('=');
  });

  it('refuses a certificate without an authority key identifier', async () => {
    const { stdout } = await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/CN=no aki',
      '-days',
      '1',
      '-addext',
      'authorityKeyIdentifier=none',
      '-addext',
      'subjectKeyIdentifier=none',
    ]);
    expect(() => certIdOf(new X509Certificate(stdout).raw)).toThrow(RenewalInfoError);
  });
});

describe('renewalInfo answers', () => {
  const now = new Date('2026-06-01T00:00:00Z');

  it('reads a window, its explanationURL and Retry-After', () => {
    const answer = parseRenewalInfo(
      {
        suggestedWindow: { start: '2026-06-10T00:00:00Z', end: '2026-06-12T00:00:00Z' },
        explanationURL: 'https://ca.example/incident/42',
      },
      '3600',
      now,
    );
    expect(answer).toEqual({
      start: new Date('2026-06-10T00:00:00Z'),
      end: new Date('2026-06-12T00:00:00Z'),
      explanationURL: 'https://ca.example/incident/42',
      retryAfterSeconds: 3600,
    });
  });

  it.each<[unknown, string]>([
    [{}, 'no suggestedWindow'],
    [{ suggestedWindow: { start: 'soon', end: '2026-06-12T00:00:00Z' } }, 'not a date'],
    [
      { suggestedWindow: { start: '2026-06-12T00:00:00Z', end: '2026-06-10T00:00:00Z' } },
      'ends before it starts',
    ],
  ])('refuses %j (%s)', (body) => {
    expect(() => parseRenewalInfo(body, null, now)).toThrow(RenewalInfoError);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Mon, 01 Jun 2026 01:00:00 GMT', now)).toBe(3600);
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('whenever', now)).toBeNull();
  });
});

describe('windowFromAnswer: when to renew', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  const answer = {
    start: new Date('2026-06-10T00:00:00Z'),
    end: new Date('2026-06-12T00:00:00Z'),
    retryAfterSeconds: 21_600,
  };

  it('picks a random moment inside the window', () => {
    expect(windowFromAnswer('a.b', answer, null, now, () => 0).renewAt).toBe('2026-06-10T00:00:00.000Z');
    expect(windowFromAnswer('a.b', answer, null, now, () => 0.5).renewAt).toBe('2026-06-11T00:00:00.000Z');
    expect(
      windowFromAnswer('a.b', answer, null, now, () => 0.999999).renewAt < answer.end.toISOString(),
    ).toBe(true);
  });

  it('renews now when the window has passed', () => {
    const past = {
      ...answer,
      start: new Date('2026-05-01T00:00:00Z'),
      end: new Date('2026-05-02T00:00:00Z'),
    };
    expect(windowFromAnswer('a.b', past, null, now, () => 0.7).renewAt).toBe(now.toISOString());
  });

  it('picks inside the part of the window still ahead when it has begun', () => {
    const begun = {
      ...answer,
      start: new Date('2026-05-31T00:00:00Z'),
      end: new Date('2026-06-02T00:00:00Z'),
    };
    expect(windowFromAnswer('a.b', begun, null, now, () => 0).renewAt).toBe(now.toISOString());
  });

  it('keeps the moment it picked while the window is unchanged, and picks anew when it moves', () => {
    const first = windowFromAnswer('a.b', answer, null, now, () => 0.25);
    const later = new Date('2026-06-02T00:00:00Z');
    expect(windowFromAnswer('a.b', answer, first, later, () => 0.9).renewAt).toBe(first.renewAt);
    const moved = {
      ...answer,
      start: new Date('2026-06-03T00:00:00Z'),
      end: new Date('2026-06-04T00:00:00Z'),
    };
    expect(windowFromAnswer('a.b', moved, first, later, () => 0).renewAt).toBe('2026-06-03T00:00:00.000Z');
    // Another certificate (renewed since) never inherits the old pick.
    expect(windowFromAnswer('c.d', answer, first, later, () => 0).renewAt).toBe('2026-06-10T00:00:00.000Z');
  });

  it('honours Retry-After, clamped to between a minute and a day', () => {
    const at = (s: number | null) =>
      windowFromAnswer('a.b', { ...answer, retryAfterSeconds: s }, null, now).nextFetchAt;
    expect(at(3600)).toBe('2026-06-01T01:00:00.000Z');
    expect(at(5)).toBe('2026-06-01T00:01:00.000Z');
    expect(at(10 * 86_400)).toBe('2026-06-02T00:00:00.000Z');
    expect(at(null)).toBe('2026-06-01T06:00:00.000Z');
  });

  it('asks again only once Retry-After has passed, and for the same certificate only', () => {
    const stored = windowFromAnswer('a.b', answer, null, now);
    expect(storedWindowFresh(stored, 'a.b', new Date('2026-06-01T05:59:00Z'))).toBe(true);
    expect(storedWindowFresh(stored, 'a.b', new Date('2026-06-01T06:00:00Z'))).toBe(false);
    expect(storedWindowFresh(stored, 'c.d', now)).toBe(false);
    expect(storedWindowFresh(null, 'a.b', now)).toBe(false);
  });
});
