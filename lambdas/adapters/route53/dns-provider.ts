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
import type { DnsProvider } from '../../domain/ports';
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
    const values = await this.currentValues(fqdn);
    if (!values.includes(value)) values.push(value);
    await this.change('UPSERT', fqdn, values);
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

  private async change(
    action: 'UPSERT' | 'DELETE',
    fqdn: string,
    values: string[],
    wait = true,
  ): Promise<void> {
    let changeId: string | undefined;
    try {
      const out = await this.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.options.hostedZoneId,
          ChangeBatch: {
            Comment: 'rs-cert-watchdog ACME DNS-01',
            Changes: [
              {
                Action: action,
                ResourceRecordSet: {
                  Name: fqdn,
                  Type: 'TXT',
                  TTL: this.options.ttl ?? 60,
                  ResourceRecords: values.map((v) => ({ Value: `"${v}"` })),
                },
              },
            ],
          },
        }),
      );
      changeId = out.ChangeInfo?.Id;
    } catch (error) {
      throw this.failure(action.toLowerCase(), fqdn, error);
    }
    if (wait && changeId) await this.waitInSync(changeId, fqdn);
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
