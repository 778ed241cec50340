/**
 * ACME Renewal Information (RFC 9773), the pure parts: a certificate's certID, reading the CA's
 * answer, and when to renew inside its suggested window. The fetch itself is an adapter
 * (adapters/acme/renewal-info.ts) behind the RenewalInfoSource port.
 *
 * The rule: the moment picked in the CA's window replaces the lifetime policy, earlier or later,
 * but never later than the lifetime backstop (policy.ts lifetimeBackstop: two thirds of the
 * lifetime, half under 10 days). A window whose moment falls after it is ignored with a warning, and
 * the certificate renews at the backstop (policy.ts decideRenewal).
 */
import { RenewalInfoError } from './errors';

/** The CA's suggested renewal window for one certificate, as stored between runs. */
export interface RenewalWindow {
  certId: string;
  start: string;
  end: string;
  explanationURL?: string;
  /** The moment this watchdog picked inside the window (kept until the window changes). */
  renewAt: string;
  /** When the window was fetched, and when the CA allows asking again (Retry-After). */
  fetchedAt: string;
  nextFetchAt: string;
}

/** RFC 9773 §4.2: Retry-After below one minute is treated as one minute; above a day, as a day. */
const MIN_RETRY_AFTER_S = 60;
const MAX_RETRY_AFTER_S = 86_400;
/** Without Retry-After, ask again in six hours (Let's Encrypt: check at least twice a day). */
export const DEFAULT_RETRY_AFTER_S = 21_600;

/**
 * certID = base64url(AKI keyIdentifier) "." base64url(DER serial content octets), no padding. The
 * serial's octets are taken from the DER as they are, so a serial whose top bit is set keeps its
 * leading 0x00 (dropping it is the classic client bug, and the CA then knows no such certificate).
 */
export function certIdOf(der: Uint8Array): string {
  const { aki, serial } = certIdParts(der);
  return `${Buffer.from(aki).toString('base64url')}.${Buffer.from(serial).toString('base64url')}`;
}

/** The AKI keyIdentifier and the DER content octets of the serial number of a certificate. */
export function certIdParts(der: Uint8Array): { aki: Uint8Array; serial: Uint8Array } {
  const certificate = tlv(der, 0);
  const tbsHeader = children(der, certificate)[0];
  if (!tbsHeader) throw new RenewalInfoError('the certificate has no tbsCertificate');
  const tbs = children(der, tbsHeader);
  // tbsCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER, …, [3] extensions }
  const serial = tbs[0]?.tag === 0xa0 ? tbs[1] : tbs[0];
  if (serial?.tag !== 0x02) throw new RenewalInfoError('the certificate has no serial number');
  const extensionsWrapper = tbs.find((t) => t.tag === 0xa3);
  const extensions = extensionsWrapper ? children(der, extensionsWrapper)[0] : undefined;
  for (const extension of extensions ? children(der, extensions) : []) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const parts = children(der, extension);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag !== 0x06 || value?.tag !== 0x04) continue;
    if (!sameBytes(der.subarray(oid.start, oid.end), AKI_OID)) continue;
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }
    const keyId = children(der, tlv(der, value.start)).find((t) => t.tag === 0x80);
    if (keyId)
      return { aki: der.subarray(keyId.start, keyId.end), serial: der.subarray(serial.start, serial.end) };
  }
  throw new RenewalInfoError('the certificate has no authority key identifier, so it has no ARI certID');
}

export interface RenewalInfoAnswer {
  start: Date;
  end: Date;
  explanationURL?: string;
  /** Seconds, as the CA sent it (null when absent). */
  retryAfterSeconds: number | null;
}

/** Reads a renewalInfo response body; throws with a plain reason when it is not one. */
export function parseRenewalInfo(body: unknown, retryAfter: string | null, now: Date): RenewalInfoAnswer {
  const window = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  const start = typeof window?.start === 'string' ? new Date(window.start) : null;
  const end = typeof window?.end === 'string' ? new Date(window.end) : null;
  if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
    throw new RenewalInfoError('the answer has no suggestedWindow with RFC 3339 start and end');
  // RFC 9773 §4.2: a window whose end is not after its start is invalid.
  if (end <= start) throw new RenewalInfoError(`the suggested window ends (${window?.end}) before it starts`);
  const url = (body as { explanationURL?: unknown }).explanationURL;
  return {
    start,
    end,
    ...(typeof url === 'string' && /^https?:\/\//.test(url) ? { explanationURL: url } : {}),
    retryAfterSeconds: parseRetryAfter(retryAfter, now),
  };
}

/** Retry-After as seconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - now.getTime()) / 1000));
}

/**
 * The window to keep after an answer. The moment to renew is random inside the window (RFC 9773
 * §4.2, so a fleet does not hit the CA at once), or now when the window has already passed; it is
 * kept from the previous answer while the window is unchanged, so each run does not pick anew and
 * drift early. The next fetch honours Retry-After, clamped to [1 minute, 1 day].
 */
export function windowFromAnswer(
  certId: string,
  answer: RenewalInfoAnswer,
  previous: RenewalWindow | null,
  now: Date,
  random: () => number = Math.random,
): RenewalWindow {
  const start = answer.start.toISOString();
  const end = answer.end.toISOString();
  const unchanged = previous?.certId === certId && previous.start === start && previous.end === end;
  let renewAt: Date;
  if (unchanged && previous) renewAt = new Date(previous.renewAt);
  else if (answer.end <= now) renewAt = now;
  else {
    const from = Math.max(answer.start.getTime(), now.getTime());
    renewAt = new Date(from + Math.floor(random() * (answer.end.getTime() - from)));
  }
  const retryAfter = Math.min(
    MAX_RETRY_AFTER_S,
    Math.max(MIN_RETRY_AFTER_S, answer.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_S),
  );
  return {
    certId,
    start,
    end,
    ...(answer.explanationURL ? { explanationURL: answer.explanationURL } : {}),
    renewAt: renewAt.toISOString(),
    fetchedAt: now.toISOString(),
    nextFetchAt: new Date(now.getTime() + retryAfter * 1000).toISOString(),
  };
}

/** Whether a stored window can be used without asking the CA again (Retry-After not yet passed). */
export function storedWindowFresh(stored: RenewalWindow | null, certId: string, now: Date): boolean {
  return stored !== null && stored.certId === certId && new Date(stored.nextFetchAt) > now;
}

// ---- DER ------------------------------------------------------------------------------------

const AKI_OID = Uint8Array.of(0x55, 0x1d, 0x23); // 2.5.29.35

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function tlv(der: Uint8Array, pos: number): Tlv {
  const tag = der[pos];
  let length = der[pos + 1];
  if (tag === undefined || length === undefined) throw new RenewalInfoError(`DER truncated at byte ${pos}`);
  let p = pos + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4) throw new RenewalInfoError(`DER length form not allowed at byte ${pos}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (der[p++] ?? 0);
  }
  if (p + length > der.length) throw new RenewalInfoError(`DER length runs past the end at byte ${pos}`);
  return { tag, start: p, end: p + length };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const child = tlv(der, p);
    out.push(child);
    p = child.end;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
