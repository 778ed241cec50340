/**
 * Route 53 on loopback (REST-XML): the hosted zones a deployment names, with
 * ChangeResourceRecordSets (one atomic batch; CREATE, UPSERT, DELETE with Route 53's checks),
 * ListResourceRecordSets (in Route 53's order, from a start name and type) and GetChange (INSYNC
 * once applied). IAM: the zone's ARN, with the record names, types and actions of the batch as the
 * `route53:ChangeResourceRecordSets*` condition keys. Each applied TXT change is handed to the zone's
 * `onChange` (the tests forward it to pebble-challtestsrv, so that Pebble sees the records).
 */
import { randomBytes } from 'node:crypto';
import type { AwsRequest, LoopbackAws, LoopbackService } from './loopback-aws';
import { type AwsResponse, AwsServiceError, xmlElements, xmlError, xmlEscape, xmlText } from './protocols';

const NAMESPACE = 'https://route53.amazonaws.com/doc/2013-04-01/';

export interface RecordSet {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

/** A change applied to a record set: its values before and after (empty: absent). */
export type RecordChange = (change: {
  name: string;
  type: string;
  before: string[];
  after: string[];
}) => Promise<void>;

interface Zone {
  id: string;
  records: Map<string, RecordSet>;
  onChange: RecordChange | undefined;
}

export class Route53StandIn implements LoopbackService {
  readonly signingName = 'route53';
  readonly endpointEnvName = 'ROUTE_53';
  private readonly zones = new Map<string, Zone>();
  private readonly changes = new Map<string, { submittedAt: string; comment: string | undefined }>();

  constructor(private readonly aws: LoopbackAws) {}

  createHostedZone(id: string, onChange?: RecordChange): void {
    if (!this.zones.has(id)) this.zones.set(id, { id, records: new Map(), onChange });
    else if (onChange) (this.zones.get(id) as Zone).onChange = onChange;
  }

  records(zoneId: string): RecordSet[] {
    return [...(this.zones.get(zoneId)?.records.values() ?? [])];
  }

  renderError(error: AwsServiceError): AwsResponse {
    return xmlError(error, NAMESPACE);
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const rrset = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/.exec(request.path);
    if (rrset && request.method === 'POST') return this.changeRecordSets(request, rrset[1] as string);
    if (rrset && request.method === 'GET') return this.listRecordSets(request, rrset[1] as string);
    const change = /^\/2013-04-01\/change\/([^/]+)$/.exec(request.path);
    if (change && request.method === 'GET') return this.getChange(request, change[1] as string);
    throw new AwsServiceError(
      'InvalidInput',
      `the loopback stand-in does not serve ${request.method} ${request.path}`,
    );
  }

  private zone(id: string): Zone {
    const zone = this.zones.get(id);
    if (!zone) throw new AwsServiceError('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
    return zone;
  }

  private async changeRecordSets(request: AwsRequest, zoneId: string): Promise<AwsResponse> {
    const changes = xmlElements(request.body, 'Change').map((change) => {
      const set = xmlElements(change, 'ResourceRecordSet')[0] ?? '';
      return {
        action: xmlText(change, 'Action') ?? '',
        set: {
          name: normalize(xmlText(set, 'Name') ?? ''),
          type: xmlText(set, 'Type') ?? '',
          ttl: Number(xmlText(set, 'TTL') ?? 300),
          values: xmlElements(set, 'ResourceRecord').map((r) => xmlText(r, 'Value') ?? ''),
        } satisfies RecordSet,
      };
    });
    this.aws.authorize(
      request.principal,
      {
        service: 'route53',
        action: 'route53:ChangeResourceRecordSets',
        resource: `arn:aws:route53:::hostedzone/${zoneId}`,
        context: {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': changes.map((c) =>
            c.set.name.replace(/\.$/, ''),
          ),
          'route53:ChangeResourceRecordSetsRecordTypes': changes.map((c) => c.set.type),
          'route53:ChangeResourceRecordSetsActions': changes.map((c) => c.action),
        },
      },
      { deniedCode: 'AccessDenied', deniedStatus: 403 },
    );
    const zone = this.zone(zoneId);
    // The batch is atomic: every change is checked against the zone before any is applied.
    const next = new Map(zone.records);
    const applied: Array<{ name: string; type: string; before: string[]; after: string[] }> = [];
    for (const { action, set } of changes) {
      const key = `${set.name} ${set.type}`;
      const current = next.get(key);
      if (set.values.length === 0) throw invalidBatch(`ResourceRecordSet ${set.name} has no ResourceRecords`);
      if (action === 'CREATE' && current)
        throw invalidBatch(
          `Tried to create resource record set [name='${set.name}', type='${set.type}'] but it already exists`,
        );
      if (action === 'DELETE') {
        if (!current || !sameValues(current, set))
          throw invalidBatch(
            `Tried to delete resource record set [name='${set.name}', type='${set.type}'] but it was not found or the values provided do not match the current values`,
          );
        next.delete(key);
        applied.push({ name: set.name, type: set.type, before: current.values, after: [] });
      } else if (action === 'CREATE' || action === 'UPSERT') {
        next.set(key, set);
        applied.push({ name: set.name, type: set.type, before: current?.values ?? [], after: set.values });
      } else throw new AwsServiceError('InvalidInput', `unknown Action ${action}`);
    }
    zone.records.clear();
    for (const [k, v] of next) zone.records.set(k, v);
    for (const change of applied) await zone.onChange?.(change);
    const id = `C${randomBytes(10).toString('hex').toUpperCase()}`;
    const submittedAt = new Date().toISOString();
    const comment = xmlText(request.body, 'Comment');
    this.changes.set(id, { submittedAt, comment });
    return xml(
      `<ChangeResourceRecordSetsResponse xmlns="${NAMESPACE}">${changeInfo(id, 'PENDING', submittedAt, comment)}</ChangeResourceRecordSetsResponse>`,
    );
  }

  private listRecordSets(request: AwsRequest, zoneId: string): AwsResponse {
    this.aws.authorize(
      request.principal,
      {
        service: 'route53',
        action: 'route53:ListResourceRecordSets',
        resource: `arn:aws:route53:::hostedzone/${zoneId}`,
      },
      { deniedCode: 'AccessDenied', deniedStatus: 403 },
    );
    const zone = this.zone(zoneId);
    const startName = request.query.get('name');
    const startType = request.query.get('type') ?? '';
    const maxItems = Number(request.query.get('maxitems') ?? 300);
    // Route 53's order: names by their labels from the right, then type.
    const order = (s: { name: string; type: string }) => `${s.name.split('.').reverse().join('.')} ${s.type}`;
    const sorted = [...zone.records.values()].sort((a, b) => order(a).localeCompare(order(b)));
    const from = startName ? order({ name: normalize(startName), type: startType }) : '';
    const rest = sorted.filter((s) => order(s) >= from);
    const page = rest.slice(0, maxItems);
    const next = rest[maxItems];
    const sets = page
      .map(
        (s) =>
          `<ResourceRecordSet><Name>${xmlEscape(s.name)}</Name><Type>${s.type}</Type><TTL>${s.ttl}</TTL><ResourceRecords>${s.values
            .map((v) => `<ResourceRecord><Value>${xmlEscape(v)}</Value></ResourceRecord>`)
            .join('')}</ResourceRecords></ResourceRecordSet>`,
      )
      .join('');
    return xml(
      `<ListResourceRecordSetsResponse xmlns="${NAMESPACE}"><ResourceRecordSets>${sets}</ResourceRecordSets>` +
        `<IsTruncated>${next ? 'true' : 'false'}</IsTruncated>` +
        (next
          ? `<NextRecordName>${xmlEscape(next.name)}</NextRecordName><NextRecordType>${next.type}</NextRecordType>`
          : '') +
        `<MaxItems>${maxItems}</MaxItems></ListResourceRecordSetsResponse>`,
    );
  }

  private getChange(request: AwsRequest, id: string): AwsResponse {
    this.aws.authorize(
      request.principal,
      { service: 'route53', action: 'route53:GetChange', resource: `arn:aws:route53:::change/${id}` },
      { deniedCode: 'AccessDenied', deniedStatus: 403 },
    );
    const change = this.changes.get(id);
    if (!change)
      throw new AwsServiceError(
        'NoSuchChange',
        `A change with the specified change ID does not exist: ${id}`,
        404,
      );
    // Applied (and forwarded) before ChangeResourceRecordSets answered.
    return xml(
      `<GetChangeResponse xmlns="${NAMESPACE}">${changeInfo(id, 'INSYNC', change.submittedAt, change.comment)}</GetChangeResponse>`,
    );
  }
}

function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

function sameValues(a: RecordSet, b: RecordSet): boolean {
  return a.ttl === b.ttl && [...a.values].sort().join('\n') === [...b.values].sort().join('\n');
}

function invalidBatch(message: string): AwsServiceError {
  return new AwsServiceError('InvalidChangeBatch', `[${message}]`);
}

function changeInfo(id: string, status: string, submittedAt: string, comment: string | undefined): string {
  return `<ChangeInfo><Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>${submittedAt}</SubmittedAt>${
    comment ? `<Comment>${xmlEscape(comment)}</Comment>` : ''
  }</ChangeInfo>`;
}

function xml(body: string): AwsResponse {
  return { status: 200, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0"?>\n${body}` };
}
