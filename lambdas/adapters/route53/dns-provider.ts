/**
 * Route 53 DNS-01 provider. A wildcard and its apex share one record name
 * (_acme-challenge.example.com), so values are merged into the record set rather than overwritten,
 * and cleanup removes only our value.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecord,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { DnsProviderError } from '../../domain/errors';
import type { DnsProvider, DnsRecord } from '../../domain/ports';
import { DNS_PROPAGATION, sleep } from '../../domain/retry';

export interface Route53Options {
  hostedZoneId: string;
  client?: Route53Client;
  /** How long to wait for a change to be INSYNC. */
  propagationTimeoutMs?: number;
  pollIntervalMs?: number;
  ttl?: number;
}

export class Route53DnsProvider implements DnsProvider {
  private readonly client: Route53Client;

  constructor(private readonly options: Route53Options) {
    this.client = options.client ?? new Route53Client({});
  }

  async present(fqdn: string, value: string): Promise<void> {
    await this.presentAll([{ fqdn, value }]);
  }

  /**
   * Every record of an order in ONE change batch (atomic: all or none is applied) and ONE wait for
   * INSYNC, instead of one 60-120 s wait per record. Values are merged per name with what the zone
   * already holds (a wildcard and its apex, or another run's challenge, share a name).
   */
  async presentAll(records: readonly DnsRecord[]): Promise<void> {
    if (records.length === 0) return;
    const wanted = new Map<string, { fqdn: string; values: string[] }>();
    for (const { fqdn, value } of records) {
      const key = fqdn.toLowerCase();
      const entry = wanted.get(key) ?? { fqdn, values: [] };
      if (!entry.values.includes(value)) entry.values.push(value);
      wanted.set(key, entry);
    }
    const sets = await Promise.all(
      [...wanted.values()].map(async ({ fqdn, values }) => {
        const current = await this.currentValues(fqdn);
        return { fqdn, values: [...current, ...values.filter((v) => !current.includes(v))] };
      }),
    );
    await this.changeBatch(
      'UPSERT',
      sets,
      true,
      sets.map((s) => s.fqdn),
    );
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const values = await this.currentValues(fqdn);
    const rest = values.filter((v) => v !== value);
    if (rest.length === values.length) return;
    // DELETE must name the record set exactly as it is; UPSERT keeps other challenges' values.
    if (rest.length === 0) await this.change('DELETE', fqdn, values, false);
    else await this.change('UPSERT', fqdn, rest, false);
  }

  private async currentValues(fqdn: string): Promise<string[]> {
    try {
      const out = await this.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: this.options.hostedZoneId,
          StartRecordName: fqdn,
          StartRecordType: 'TXT',
          MaxItems: 1,
        }),
      );
      const set = out.ResourceRecordSets?.find((s) => s.Type === 'TXT' && sameName(s.Name, fqdn));
      return (set?.ResourceRecords ?? []).map((r: ResourceRecord) => unquote(r.Value ?? ''));
    } catch (error) {
      throw this.failure('list', fqdn, error);
    }
  }

  private change(action: 'UPSERT' | 'DELETE', fqdn: string, values: string[], wait = true): Promise<void> {
    return this.changeBatch(action, [{ fqdn, values }], wait, [fqdn]);
  }

  private async changeBatch(
    action: 'UPSERT' | 'DELETE',
    sets: ReadonlyArray<{ fqdn: string; values: string[] }>,
    wait: boolean,
    names: string[],
  ): Promise<void> {
    const label = names.join(', ');
    let changeId: string | undefined;
    try {
      const out = await this.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.options.hostedZoneId,
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
      );
      changeId = out.ChangeInfo?.Id;
    } catch (error) {
      throw this.failure(action.toLowerCase(), label, error);
    }
    if (wait && changeId) await this.waitInSync(changeId, label);
  }

  private async waitInSync(changeId: string, fqdn: string): Promise<void> {
    const deadline = Date.now() + (this.options.propagationTimeoutMs ?? DNS_PROPAGATION.timeoutMs);
    for (;;) {
      let status: string | undefined;
      try {
        status = (await this.client.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status;
      } catch (error) {
        throw this.failure('wait for', fqdn, error);
      }
      if (status === 'INSYNC') return;
      if (Date.now() >= deadline) {
        throw new DnsProviderError(
          `Route 53 change ${changeId} for ${fqdn} was not INSYNC in time (status ${status})`,
          {
            hint: 'Route 53 is slow to propagate; the next run tries again',
          },
        );
      }
      await sleep(this.options.pollIntervalMs ?? DNS_PROPAGATION.pollMs);
    }
  }

  private failure(op: string, fqdn: string, error: unknown): DnsProviderError {
    const name = (error as Error).name ?? 'Error';
    return new DnsProviderError(
      `Route 53 could not ${op} ${fqdn} in zone ${this.options.hostedZoneId}: ${name}: ${(error as Error).message}`,
      {
        cause: error,
        hint:
          name === 'AccessDenied' || name === 'AccessDeniedException'
            ? 'grant route53:ChangeResourceRecordSets, ListResourceRecordSets and GetChange on the zone'
            : 'check the hostedZoneId and that the domain is in that zone',
      },
    );
  }
}

const sameName = (a: string | undefined, b: string) =>
  (a ?? '').replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
const unquote = (v: string) => v.replace(/^"|"$/g, '');
