/**
 * RFC 2136 dynamic updates, signed with TSIG (RFC 8945): the standard way to write to BIND,
 * PowerDNS, Knot and Infoblox. One UPDATE per zone adds every TXT value of an order (the server
 * applies all or none); cleanup deletes exactly our value (class NONE), leaving any other. Every
 * answer must carry the server's valid signature, or the update is not taken as done.
 *
 * The zone of a name is the one the nameserver says holds it (its SOA, asked with the same key),
 * unless the config names it.
 */
import { ConfigError, DnsProviderError, DnsTsigError, DnsUpdateRefusedError } from '../../domain/errors';
import type { DnsProvider, DnsRecord } from '../../domain/ports';
import { DNS_UPDATE_TIMEOUT_MS } from '../../domain/retry';
import {
  ask,
  type DnsAnswer,
  DnsTransportError,
  formatServer,
  fqdn,
  parseServer,
  RRTYPE,
  type ServerAddress,
  type TsigAlgorithm,
  type TsigKey,
  type TxtChange,
  update,
} from '../dns-wire';

export interface Rfc2136Options {
  /** "host:port" of the primary. */
  nameserver: string;
  /** The zone to update; found through the nameserver's SOA when absent. */
  zone?: string | undefined;
  /** TSIG: the key's name and algorithm, and where its base64 secret comes from (read once). */
  tsig?: { keyName: string; algorithm: TsigAlgorithm; secret: () => Promise<string>; source: string };
  ttl?: number;
  timeoutMs?: number;
  now?: () => Date;
}

export class Rfc2136DnsProvider implements DnsProvider {
  private readonly server: ServerAddress;
  private key: Promise<TsigKey | undefined> | undefined;
  private readonly zones = new Map<string, Promise<string>>();

  constructor(private readonly options: Rfc2136Options) {
    this.server = parseServer(options.nameserver);
  }

  present(fqdn: string, value: string): Promise<void> {
    return this.presentAll([{ fqdn, value }]);
  }

  async presentAll(records: readonly DnsRecord[]): Promise<void> {
    const byZone = new Map<string, TxtChange[]>();
    for (const { fqdn: name, value } of records) {
      const zone = await this.zoneOf(name);
      const changes = byZone.get(zone) ?? [];
      changes.push({ action: 'add', name, value, ttl: this.options.ttl ?? 60 });
      byZone.set(zone, changes);
    }
    for (const [zone, changes] of byZone) await this.send(zone, changes, 'add');
  }

  async cleanup(name: string, value: string): Promise<void> {
    const zone = await this.zoneOf(name);
    await this.send(zone, [{ action: 'delete', name, value, ttl: 0 }], 'delete');
  }

  private tsigKey(): Promise<TsigKey | undefined> {
    const tsig = this.options.tsig;
    this.key ??= (async () => {
      if (!tsig) return undefined;
      const text = (await tsig.secret()).trim();
      const secret = Buffer.from(text, 'base64');
      // Node's base64 decoder skips what is not base64: re-encoding tells a secret from garbage.
      if (secret.length === 0 || secret.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, ''))
        throw new ConfigError(`${tsig.source}: the TSIG secret is not base64`, {
          hint: "give the secret exactly as in the server's key statement (tsig-keygen prints it)",
        });
      return { name: tsig.keyName, algorithm: tsig.algorithm, secret };
    })();
    this.key.catch(() => {
      this.key = undefined;
    });
    return this.key;
  }

  private zoneOf(name: string): Promise<string> {
    if (this.options.zone) return Promise.resolve(fqdn(this.options.zone));
    const target = fqdn(name);
    let zone = this.zones.get(target);
    if (!zone) {
      zone = this.findZone(target);
      zone.catch(() => this.zones.delete(target));
      this.zones.set(target, zone);
    }
    return zone;
  }

  /** The nameserver's SOA for the name: in the answer at the apex, else in the authority section. */
  private async findZone(name: string): Promise<string> {
    const answer = await this.exchange(`find the zone of ${name}`, async (key) =>
      ask(this.server, name, RRTYPE.SOA, {
        recursionDesired: false,
        timeoutMs: this.options.timeoutMs ?? DNS_UPDATE_TIMEOUT_MS,
        key,
        ...(this.options.now ? { now: this.options.now } : {}),
      }),
    );
    this.check(answer, `find the zone of ${name}`, ['NOERROR', 'NXDOMAIN']);
    const soa =
      answer.answers.find((r) => r.type === RRTYPE.SOA) ??
      answer.authorities.find((r) => r.type === RRTYPE.SOA);
    if (!soa || !(name === soa.name || name.endsWith(`.${soa.name}`)))
      throw new DnsUpdateRefusedError(
        answer.rcodeName,
        `${this.label()} does not say which of its zones holds ${name} (no SOA in its answer)`,
        {
          hint: `point nameserver at the primary of ${name}'s zone, or name the zone in dns.zone`,
        },
      );
    return soa.name;
  }

  private async send(zone: string, changes: TxtChange[], action: 'add' | 'delete'): Promise<void> {
    const what = `${action} TXT ${[...new Set(changes.map((c) => c.name))].join(', ')} in zone ${zone}`;
    const answer = await this.exchange(what, (key) =>
      update(this.server, zone, changes, {
        timeoutMs: this.options.timeoutMs ?? DNS_UPDATE_TIMEOUT_MS,
        key,
        ...(this.options.now ? { now: this.options.now } : {}),
      }),
    );
    this.check(answer, what, ['NOERROR']);
  }

  private async exchange(
    what: string,
    run: (key: TsigKey | undefined) => Promise<DnsAnswer>,
  ): Promise<DnsAnswer> {
    const key = await this.tsigKey();
    try {
      return await run(key);
    } catch (error) {
      throw new DnsProviderError(`${this.label()} could not ${what}: ${(error as Error).message}`, {
        cause: error,
        hint:
          error instanceof DnsTransportError
            ? 'check that the nameserver is reachable from here over TCP and UDP (port in nameserver)'
            : 'check the nameserver setting',
      });
    }
  }

  /** The answer's signature first (an unsigned "NOERROR" proves nothing), then its RCODE. */
  private check(answer: DnsAnswer, what: string, accepted: readonly string[]): void {
    const tsig = this.options.tsig;
    if (tsig && answer.tsig && !answer.tsig.ok) {
      const code = answer.tsig.tsigError;
      const hints: Record<string, string> = {
        BADKEY: `the server has no key "${tsig.keyName}" with algorithm ${tsig.algorithm}: check tsigKeyName and tsigAlgorithm against its key statement`,
        BADSIG: `the secret does not match the server's key "${tsig.keyName}": check the secret in ${tsig.source}`,
        BADTIME: `this machine's clock and the server's differ by more than 300 s: check NTP on both`,
      };
      throw new DnsTsigError(
        code
          ? `${this.label()} refused the TSIG signature (${code}) when asked to ${what}`
          : `${this.label()}'s answer to ${what} is not signed by key "${tsig.keyName}" (${answer.tsig.reason}): it may not come from the server`,
        {
          hint:
            (code && hints[code]) ??
            "check that nothing between here and the nameserver answers in its place, and that the key is the server's",
          ...(code ? { tsigError: code } : {}),
        },
      );
    }
    if (accepted.includes(answer.rcodeName)) return;
    const refusals: Record<string, string> = {
      REFUSED: tsig
        ? `the server's update-policy (or allow-update) does not let key "${tsig.keyName}" change these TXT records: grant it, e.g. update-policy { grant ${tsig.keyName} zonesub TXT; }`
        : 'the server refuses unsigned updates from here: give a TSIG key (tsigKeyName and its secret)',
      NOTAUTH:
        "the server is not authoritative (or not the primary) for this zone: point nameserver at the zone's primary",
      NOTZONE:
        'the name is outside the zone: fix dns.zone, or leave it out so that the server says which zone holds it',
    };
    const refusal = refusals[answer.rcodeName];
    if (refusal)
      throw new DnsUpdateRefusedError(
        answer.rcodeName,
        `${this.label()} answered ${answer.rcodeName} when asked to ${what}`,
        {
          hint: refusal,
        },
      );
    throw new DnsProviderError(`${this.label()} answered ${answer.rcodeName} when asked to ${what}`, {
      hint: "see the nameserver's log for the reason",
    });
  }

  private label(): string {
    return `nameserver ${formatServer(this.server)}`;
  }
}
