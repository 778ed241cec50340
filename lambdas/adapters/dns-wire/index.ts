/**
 * DNS on the wire, for RFC 2136 updates and for reading what the CA will read: messages are
 * encoded and decoded with dns2 (any class, so an update can delete one record with class NONE;
 * any type, so a TSIG record travels as raw RDATA), signed and checked with TSIG (./tsig.ts), and
 * exchanged over UDP or TCP (./transport.ts). No cache anywhere: every question reaches the server.
 */
import { randomInt } from 'node:crypto';
import type DNS from 'dns2';
import { Packet } from 'dns2';

type Question = DNS.Packet.Question;
type Resource = DNS.Packet.Resource;

import { exchange, type ServerAddress } from './transport';
import { findTsig, signMessage, type TsigCheck, type TsigKey, verifyAnswer } from './tsig';

export { DnsTransportError, formatServer, parseServer, type ServerAddress } from './transport';
export { canonicalName, type TsigAlgorithm, type TsigKey } from './tsig';

export const RRTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28 } as const;
const CLASS_IN = 1;
const CLASS_NONE = 254;
const OPCODE_UPDATE = 5;

/** RCODE names (RFC 1035, 2136, 8945); 16 is BADSIG in a TSIG context. */
export const RCODE_NAMES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
};

export interface DnsRecordData {
  name: string;
  type: number;
  ttl: number;
  /** TXT: the strings; CNAME/NS: the target; SOA: the primary name server. */
  value: string;
}

export interface DnsAnswer {
  rcode: number;
  rcodeName: string;
  authoritative: boolean;
  answers: DnsRecordData[];
  authorities: DnsRecordData[];
  additionals: DnsRecordData[];
  /** Set when the request was signed: whether the answer's signature holds. */
  tsig?: TsigCheck;
}

export interface AskOptions {
  timeoutMs: number;
  attempts?: number;
  /** RD: ask a recursive resolver to follow the chain (false for an authoritative server). */
  recursionDesired: boolean;
  key?: TsigKey | undefined;
  now?: () => Date;
}

/** One question to one server. */
export async function ask(
  server: ServerAddress,
  name: string,
  type: number,
  options: AskOptions,
): Promise<DnsAnswer> {
  const packet = new Packet();
  packet.header.id = randomInt(0x10000);
  packet.header.rd = options.recursionDesired ? 1 : 0;
  packet.questions.push({ name: fqdn(name), type, class: CLASS_IN } as Question);
  return send(server, packet.toBuffer(), options);
}

/** One change of an RFC 2136 update: add a TXT value, or delete exactly that value (§2.5.1, §2.5.4). */
export interface TxtChange {
  action: 'add' | 'delete';
  name: string;
  value: string;
  ttl: number;
}

/** An RFC 2136 UPDATE of `zone` (every change in one message: the server applies all or none), over TCP. */
export async function update(
  server: ServerAddress,
  zone: string,
  changes: readonly TxtChange[],
  options: Omit<AskOptions, 'recursionDesired' | 'attempts'>,
): Promise<DnsAnswer> {
  const packet = new Packet();
  packet.header.id = randomInt(0x10000);
  packet.header.opcode = OPCODE_UPDATE;
  // The zone section: one SOA "question" naming the zone.
  packet.questions.push({ name: fqdn(zone), type: RRTYPE.SOA, class: CLASS_IN } as Question);
  for (const change of changes) {
    packet.authorities.push({
      name: fqdn(change.name),
      type: RRTYPE.TXT,
      // Class NONE with TTL 0 deletes that one record and leaves the RRset's other values.
      class: change.action === 'add' ? CLASS_IN : CLASS_NONE,
      ttl: change.action === 'add' ? change.ttl : 0,
      data: [change.value],
    } as Resource);
  }
  return send(server, packet.toBuffer(), { ...options, tcp: true });
}

async function send(
  server: ServerAddress,
  message: Buffer,
  options: Omit<AskOptions, 'recursionDesired'> & { tcp?: boolean },
): Promise<DnsAnswer> {
  const now = options.now ?? (() => new Date());
  const signed = options.key ? signMessage(message, options.key, now()) : undefined;
  const raw = await exchange(server, signed?.signed ?? message, {
    timeoutMs: options.timeoutMs,
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    ...(options.tcp ? { tcp: true } : {}),
  });
  const tsigRecord = findTsig(raw);
  const parsed = Packet.parse(raw);
  // The extended RCODE (EDNS) is merged by the parser; a TSIG error lives in the TSIG record.
  const rcode = parsed.header.rcode;
  const answer: DnsAnswer = {
    rcode,
    rcodeName: RCODE_NAMES[rcode] ?? `RCODE${rcode}`,
    authoritative: parsed.header.aa === 1,
    answers: parsed.answers.map(recordData),
    authorities: parsed.authorities.map(recordData),
    additionals: parsed.additionals.filter((r) => r.type !== 250 && r.type !== 41).map(recordData),
  };
  if (options.key && signed) answer.tsig = verifyAnswer(raw, tsigRecord, options.key, signed.mac, now());
  return answer;
}

function recordData(r: Resource): DnsRecordData {
  let value = '';
  if (r.type === RRTYPE.TXT) value = Array.isArray(r.data) ? r.data.join('') : String(r.data ?? '');
  else if (r.type === RRTYPE.CNAME) value = fqdn(r.domain ?? '');
  else if (r.type === RRTYPE.NS) value = fqdn(r.ns ?? '');
  else if (r.type === RRTYPE.SOA) value = fqdn(r.primary ?? '');
  else if (r.type === RRTYPE.A || r.type === RRTYPE.AAAA) value = r.address ?? '';
  return { name: fqdn(r.name), type: r.type, ttl: r.ttl, value };
}

/** A name with exactly one trailing dot, lowercase. */
export function fqdn(name: string): string {
  return `${name.replace(/\.+$/, '').toLowerCase()}.`;
}
