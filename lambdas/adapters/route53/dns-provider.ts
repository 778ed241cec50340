/**
 * Route 53 DNS-01 provider.
 *
 * - Zones: with `hostedZoneId` every record goes to that zone. Otherwise each name goes to the
 *   hosted zone with the longest matching suffix (`ListHostedZonesByName`), among the public zones,
 *   or the private ones with `privateZone`; `hostedZoneIds` limits which zones may be written (a
 *   name whose zone is not listed is an error, never a write into a parent zone that would not be
 *   seen). Zones found are kept for the life of the provider.
 * - Records: a wildcard and its apex share one name (_acme-challenge.example.com), so values are
 *   merged into the record set rather than overwritten, and cleanup removes only our value. An
 *   order's records go in one change batch per zone, with one INSYNC wait each, in parallel.
 * - Calls are paced (Route 53 allows five a second per account) and `Throttling` /
 *   `PriorRequestNotComplete` (what Route 53 answers, and what the SDK itself classes as throttling)
 *   are retried with backoff (retry.ts ROUTE53_CALLS); the SDK's own retries are off.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecord,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { DnsProviderError, DnsZoneNotFoundError } from '../../domain/errors';
import type { DnsProvider, DnsRecord } from '../../domain/ports';
import { backoffDelayMs, DNS_PROPAGATION, ROUTE53_CALLS, sleep } from '../../domain/retry';

export interface Route53Options {
  hostedZoneId?: string | undefined;
  hostedZoneIds?: readonly string[] | undefined;
  privateZone?: boolean | undefined;
  client?: Route53Client;
  /** How long to wait for a change to be INSYNC. */
  propagationTimeoutMs?: number;
  pollIntervalMs?: number;
  ttl?: number;
  /** Paces this process's Route 53 calls (default: one pacer shared by every provider of the process). */
  pacer?: Route53Pacer;
}

/** Spaces calls at least 1/ratePerSecond apart, process-wide; injectable clock for tests. */
export class Route53Pacer {
  private next = 0;
  constructor(
    private readonly ratePerSecond: number = ROUTE53_CALLS.ratePerSecond,
    readonly clock: { now: () => number; sleep: (ms: number) => Promise<void> } = { now: Date.now, sleep },
    readonly random: () => number = Math.random,
  ) {}

  /** Resolves when the caller may send its request. */
  async turn(): Promise<void> {
    const now = this.clock.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.ratePerSecond;
    if (at > now) await this.clock.sleep(at - now);
  }
}

const processPacer = new Route53Pacer();

interface Zone {
  id: string;
  name: string | undefined;
}

export class Route53DnsProvider implements DnsProvider {
  private readonly client: Route53Client;
  private readonly pacer: Route53Pacer;
  private readonly byName = new Map<string, Promise<HostedZone[]>>();

  constructor(private readonly options: Route53Options = {}) {
    // One retry policy, ours (paced, with backoff): the SDK's own retries would send unpaced requests
    // into the same throttle.
    this.client = options.client ?? new Route53Client({ maxAttempts: 1 });
    this.pacer = options.pacer ?? processPacer;
  }

  async present(fqdn: string, value: string): Promise<void> {
    await this.presentAll([{ fqdn, value }]);
  }

  /**
   * Every record of an order in ONE change batch per zone (atomic: all or none is applied) and ONE
   * wait for INSYNC per batch, the waits in parallel. Values are merged per name with what the zone
   * already holds (a wildcard and its apex, or another run's challenge, share a name).
   */
  async presentAll(records: readonly DnsRecord[]): Promise<void> {
    if (records.length === 0) return;
    const started = this.pacer.clock.now();
    const byZone = new Map<string, { zone: Zone; wanted: Map<string, { fqdn: string; values: string[] }> }>();
    for (const { fqdn, value } of records) {
      const zone = await this.zoneFor(fqdn);
      const group = byZone.get(zone.id) ?? { zone, wanted: new Map() };
      const key = fqdn.toLowerCase();
      const entry = group.wanted.get(key) ?? { fqdn, values: [] };
      if (!entry.values.includes(value)) entry.values.push(value);
      group.wanted.set(key, entry);
      byZone.set(zone.id, group);
    }
    const results = await Promise.allSettled(
      [...byZone.values()].map(async ({ zone, wanted }) => {
        const sets = [];
        for (const { fqdn, values } of wanted.values()) {
          const current = await this.currentValues(zone, fqdn);
          sets.push({ fqdn, values: [...current, ...values.filter((v) => !current.includes(v))] });
        }
        const changeId = await this.changeBatch(zone, 'UPSERT', sets);
        if (changeId) await this.waitInSync(zone, changeId, sets.map((s) => s.fqdn).join(', '), started);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const zone = await this.zoneFor(fqdn);
    const values = await this.currentValues(zone, fqdn);
    const rest = values.filter((v) => v !== value);
    if (rest.length === values.length) return;
    // DELETE must name the record set exactly as it is; UPSERT keeps other challenges' values.
    if (rest.length === 0) await this.changeBatch(zone, 'DELETE', [{ fqdn, values }]);
    else await this.changeBatch(zone, 'UPSERT', [{ fqdn, values: rest }]);
  }

  /** The zone a name is written into. */
  async zoneFor(fqdn: string): Promise<Zone> {
    if (this.options.hostedZoneId) return { id: this.options.hostedZoneId, name: undefined };
    const name = normalize(fqdn);
    const wantPrivate = this.options.privateZone === true;
    const kind = wantPrivate ? 'private' : 'public';
    const labels = name.replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const candidate = `${labels.slice(i).join('.')}.`;
      const named = (await this.zonesNamed(candidate)).filter(
        (z) => (z.Config?.PrivateZone === true) === wantPrivate,
      );
      if (named.length === 0) continue;
      const ids = named.map((z) => zoneId(z.Id));
      const allowed = this.options.hostedZoneIds
        ? ids.filter((id) => this.options.hostedZoneIds?.includes(id))
        : ids;
      if (allowed.length === 0)
        throw new DnsZoneNotFoundError(
          `${name} belongs to the ${kind} hosted zone ${candidate} (${ids.join(', ')}), which is not in hostedZoneIds`,
          { hint: `add ${ids[0]} to dns.hostedZoneIds, or serve ${name} through another provider` },
        );
      if (allowed.length > 1)
        throw new DnsZoneNotFoundError(
          `several ${kind} hosted zones are named ${candidate} (${allowed.join(', ')}): the one for ${name} is ambiguous`,
          { hint: 'list the one to write to in dns.hostedZoneIds' },
        );
      return { id: allowed[0] as string, name: candidate };
    }
    throw new DnsZoneNotFoundError(`no ${kind} Route 53 hosted zone holds ${name}`, {
      hint: wantPrivate
        ? 'create the private zone, or set privateZone to false for a public one'
        : 'create the public hosted zone (or set privateZone: true when the CA resolves inside the VPC)',
    });
  }

  /** Every hosted zone named exactly `name` (public and private zones may share a name). */
  private zonesNamed(name: string): Promise<HostedZone[]> {
    let found = this.byName.get(name);
    if (!found) {
      found = (async () => {
        const zones: HostedZone[] = [];
        let start: { DNSName?: string; HostedZoneId?: string } = { DNSName: name };
        for (;;) {
          const out = await this.call('list the hosted zones named', name, () =>
            this.client.send(new ListHostedZonesByNameCommand({ ...start, MaxItems: 100 })),
          );
          const page = out.HostedZones ?? [];
          zones.push(...page.filter((z) => normalize(z.Name ?? '') === name));
          // Zones come sorted by name: once a page ends past `name`, no later page holds it.
          const last = page[page.length - 1];
          if (!out.IsTruncated || !last || normalize(last.Name ?? '') !== name) return zones;
          start = { DNSName: out.NextDNSName, HostedZoneId: out.NextHostedZoneId };
        }
      })();
      found.catch(() => this.byName.delete(name));
      this.byName.set(name, found);
    }
    return found;
  }

  private async currentValues(zone: Zone, fqdn: string): Promise<string[]> {
    const out = await this.call(
      'list',
      fqdn,
      () =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zone.id,
            StartRecordName: fqdn,
            StartRecordType: 'TXT',
            MaxItems: 1,
          }),
        ),
      zone,
    );
    const set = out.ResourceRecordSets?.find((s) => s.Type === 'TXT' && sameName(s.Name, fqdn));
    return (set?.ResourceRecords ?? []).map((r: ResourceRecord) => unquote(r.Value ?? ''));
  }

  private async changeBatch(
    zone: Zone,
    action: 'UPSERT' | 'DELETE',
    sets: ReadonlyArray<{ fqdn: string; values: string[] }>,
  ): Promise<string | undefined> {
    const label = sets.map((s) => s.fqdn).join(', ');
    const out = await this.call(
      action.toLowerCase(),
      label,
      () =>
        this.client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zone.id,
            ChangeBatch: {
              Comment: 'rs-cert-watchdog ACME DNS-01',
              Changes: sets.map(({ fqdn, values }) => ({
                Action: action,
                ResourceRecordSet: {
                  Name: fqdn,
                  Type: 'TXT',
                  TTL: this.options.ttl ?? 60,
                  ResourceRecords: values.map((v) => ({ Value: `"${v}"` })),
                },
              })),
            },
          }),
        ),
      zone,
    );
    return out.ChangeInfo?.Id;
  }

  private async waitInSync(zone: Zone, changeId: string, label: string, started: number): Promise<void> {
    const deadline = started + (this.options.propagationTimeoutMs ?? DNS_PROPAGATION.timeoutMs);
    for (;;) {
      const out = await this.call(
        'wait for',
        label,
        () => this.client.send(new GetChangeCommand({ Id: changeId })),
        zone,
      );
      const status = out.ChangeInfo?.Status;
      if (status === 'INSYNC') return;
      if (this.pacer.clock.now() >= deadline) {
        throw new DnsProviderError(
          `Route 53 change ${changeId} for ${label} was not INSYNC in time (status ${status})`,
          { hint: 'Route 53 is slow to propagate; the next run tries again' },
        );
      }
      await this.pacer.clock.sleep(this.options.pollIntervalMs ?? DNS_PROPAGATION.pollMs);
    }
  }

  /** One Route 53 call: paced, and retried with backoff while Route 53 says it is throttling. */
  private async call<T>(op: string, what: string, send: () => Promise<T>, zone?: Zone): Promise<T> {
    for (let retry = 0; ; retry++) {
      await this.pacer.turn();
      try {
        return await send();
      } catch (error) {
        const name = (error as Error).name ?? 'Error';
        if (ROUTE53_CALLS.retryable.includes(name) && retry < ROUTE53_CALLS.retries) {
          await this.pacer.clock.sleep(
            backoffDelayMs(ROUTE53_CALLS.backoff, retry + 1, true, this.pacer.random),
          );
          continue;
        }
        throw this.failure(op, what, error, zone, retry);
      }
    }
  }

  private failure(
    op: string,
    what: string,
    error: unknown,
    zone: Zone | undefined,
    retries: number,
  ): DnsProviderError {
    const name = (error as Error).name ?? 'Error';
    const where = zone ? ` in zone ${zone.id}${zone.name ? ` (${zone.name})` : ''}` : '';
    const hints: Record<string, string> = {
      AccessDenied: what.split(', ').every((n) => n.toLowerCase().startsWith('_acme-challenge.'))
        ? 'grant route53:ChangeResourceRecordSets, ListResourceRecordSets and GetChange on the zone (and ListHostedZonesByName to find zones)'
        : 'the watchdog may write only TXT records named _acme-challenge.*: point the CNAME at a name that starts with _acme-challenge.',
      NoSuchHostedZone: 'check the hostedZoneId (or hostedZoneIds)',
      InvalidChangeBatch:
        'the name may be outside the zone, or the record changed meanwhile; the next run tries again',
      Throttling:
        'Route 53 allows five requests a second per account: other tools share that quota; the next run tries again',
      PriorRequestNotComplete: 'a change to the zone is still being applied; the next run tries again',
    };
    hints.AccessDeniedException = hints.AccessDenied as string;
    return new DnsProviderError(
      `Route 53 could not ${op} ${what}${where}: ${name}: ${(error as Error).message}${retries > 0 ? ` (after ${retries} retries)` : ''}`,
      {
        cause: error,
        hint: hints[name] ?? 'check the zone settings and that the domain is in that zone',
      },
    );
  }
}

const zoneId = (id: string | undefined) => (id ?? '').replace(/^\/hostedzone\//, '');
const normalize = (name: string) => `${name.toLowerCase().replace(/\.+$/, '')}.`;
const sameName = (a: string | undefined, b: string) => normalize(a ?? '') === normalize(b);
const unquote = (v: string) => v.replace(/^"|"$/g, '');
