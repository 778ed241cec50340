/**
 * Route 53 with the AWS SDK mocked: zone discovery (longest matching suffix, public or private,
 * the hostedZoneIds allow-list), one change batch per zone, and the pacing and throttling retries
 * (on a virtual clock: nothing here waits for real time).
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Route53DnsProvider, Route53Pacer } from '../../lambdas/adapters/route53';
import { ROUTE53_CALLS } from '../../lambdas/domain/retry';

const route53 = mockClient(Route53Client);

/** A clock that moves only when someone sleeps: every wait is recorded, none is real. */
function virtualClock() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const sends: number[] = [];
  return {
    sleeps,
    sends,
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
    },
    mark: () => sends.push(now),
  };
}

const zone = (id: string, name: string, isPrivate = false): HostedZone => ({
  Id: `/hostedzone/${id}`,
  Name: name,
  CallerReference: id,
  Config: { PrivateZone: isPrivate },
});

/** The account's zones, answered as ListHostedZonesByName does (sorted, starting at DNSName). */
function account(zones: HostedZone[]) {
  const reversed = (n: string) => n.replace(/\.$/, '').split('.').reverse().join('.');
  const sorted = [...zones].sort((a, b) => reversed(a.Name ?? '').localeCompare(reversed(b.Name ?? '')));
  route53.on(ListHostedZonesByNameCommand).callsFake((input: { DNSName?: string; MaxItems?: number }) => {
    const from = sorted.findIndex((z) => reversed(z.Name ?? '') >= reversed(input.DNSName ?? ''));
    const page = from < 0 ? [] : sorted.slice(from, from + (input.MaxItems ?? 100));
    return { HostedZones: page, IsTruncated: false, MaxItems: input.MaxItems };
  });
}

function provider(options: ConstructorParameters<typeof Route53DnsProvider>[0] = {}) {
  const v = virtualClock();
  const pacer = new Route53Pacer(ROUTE53_CALLS.ratePerSecond, v.clock, () => 1);
  return { v, provider: new Route53DnsProvider({ client: new Route53Client({}), pacer, ...options }) };
}

beforeEach(() => {
  route53.reset();
  route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
  route53
    .on(ChangeResourceRecordSetsCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
  route53
    .on(GetChangeCommand)
    .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
});

describe('Route 53 zone discovery', () => {
  it('writes each name into the public zone with the longest matching suffix', async () => {
    account([
      zone('ZCOM', 'example.com.'),
      zone('ZREDIS', 'redis.example.com.'),
      zone('ZPRIV', 'prod.redis.example.com.', true),
    ]);
    const { provider: p } = provider();
    expect((await p.zoneFor('_acme-challenge.a.prod.redis.example.com.')).id).toBe('ZREDIS');
    expect((await p.zoneFor('_acme-challenge.cluster.example.com.')).id).toBe('ZCOM');
    await p.presentAll([
      { fqdn: '_acme-challenge.a.prod.redis.example.com.', value: 'v1' },
      { fqdn: '_acme-challenge.cluster.example.com.', value: 'v2' },
    ]);
    // One change batch per zone, each with its own record.
    const batches = route53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => ({
      zone: c.args[0].input.HostedZoneId,
      names: c.args[0].input.ChangeBatch?.Changes?.map((ch) => ch.ResourceRecordSet?.Name),
    }));
    expect(batches.sort((a, b) => String(a.zone).localeCompare(String(b.zone)))).toEqual([
      { zone: 'ZCOM', names: ['_acme-challenge.cluster.example.com.'] },
      { zone: 'ZREDIS', names: ['_acme-challenge.a.prod.redis.example.com.'] },
    ]);
  });

  it('writes into private zones only with privateZone: true', async () => {
    account([zone('ZPUB', 'corp.example.com.'), zone('ZPRIV', 'corp.example.com.', true)]);
    expect((await provider().provider.zoneFor('_acme-challenge.db.corp.example.com.')).id).toBe('ZPUB');
    expect(
      (await provider({ privateZone: true }).provider.zoneFor('_acme-challenge.db.corp.example.com.')).id,
    ).toBe('ZPRIV');
  });

  it('refuses a zone outside hostedZoneIds rather than writing into a parent zone nobody would ask', async () => {
    account([zone('ZCOM', 'example.com.'), zone('ZTEAM', 'team.example.com.')]);
    const { provider: p } = provider({ hostedZoneIds: ['ZCOM'] });
    await expect(p.zoneFor('_acme-challenge.a.team.example.com.')).rejects.toMatchObject({
      name: 'DnsZoneNotFoundError',
      message: expect.stringContaining('ZTEAM'),
      hint: expect.stringContaining('hostedZoneIds'),
    });
    expect((await p.zoneFor('_acme-challenge.other.example.com.')).id).toBe('ZCOM');
  });

  it('names an ambiguous zone and a missing one', async () => {
    account([zone('ZA', 'shared.example.com.', true), zone('ZB', 'shared.example.com.', true)]);
    await expect(
      provider({ privateZone: true }).provider.zoneFor('_acme-challenge.x.shared.example.com.'),
    ).rejects.toMatchObject({
      name: 'DnsZoneNotFoundError',
      message: expect.stringContaining('ZA, ZB'),
    });
    await expect(provider().provider.zoneFor('_acme-challenge.x.shared.example.com.')).rejects.toMatchObject({
      name: 'DnsZoneNotFoundError',
      message: 'no public Route 53 hosted zone holds _acme-challenge.x.shared.example.com.',
    });
  });

  it('asks for each zone name once per provider (kept), and not at all with hostedZoneId', async () => {
    account([zone('ZCOM', 'example.com.')]);
    const { provider: p } = provider();
    await p.zoneFor('_acme-challenge.a.example.com.');
    await p.zoneFor('_acme-challenge.b.example.com.');
    const asked = route53.commandCalls(ListHostedZonesByNameCommand).map((c) => c.args[0].input.DNSName);
    // a.example.com., example.com. (found), then b.example.com. (new), example.com. (kept)
    expect(asked).toEqual([
      '_acme-challenge.a.example.com.',
      'a.example.com.',
      'example.com.',
      '_acme-challenge.b.example.com.',
      'b.example.com.',
    ]);
    route53.resetHistory();
    await provider({ hostedZoneId: 'ZFIXED' }).provider.present('_acme-challenge.c.example.com.', 'v');
    expect(route53.commandCalls(ListHostedZonesByNameCommand)).toEqual([]);
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)[0]?.args[0].input.HostedZoneId).toBe(
      'ZFIXED',
    );
  });
});

describe('Route 53 pacing and throttling', () => {
  it('spaces its calls to the pace ROUTE53_CALLS allows', async () => {
    const { v, provider: p } = provider({ hostedZoneId: 'Z1' });
    route53.on(ListResourceRecordSetsCommand).callsFake(() => {
      v.mark();
      return { ResourceRecordSets: [] };
    });
    await p.presentAll(
      Array.from({ length: 6 }, (_, i) => ({ fqdn: `_acme-challenge.n${i}.example.com.`, value: `v${i}` })),
    );
    const gaps = v.sends.slice(1).map((t, i) => t - (v.sends[i] as number));
    expect(gaps).toEqual(Array(5).fill(1000 / ROUTE53_CALLS.ratePerSecond));
  });

  it('retries Throttling and PriorRequestNotComplete with growing backoff, then succeeds', async () => {
    const { v, provider: p } = provider({ hostedZoneId: 'Z1' });
    const throttled = (name: string) => Object.assign(new Error('Rate exceeded'), { name });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejectsOnce(throttled('Throttling'))
      .rejectsOnce(throttled('PriorRequestNotComplete'))
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    await p.present('_acme-challenge.a.example.com.', 'v');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(3);
    // Full jitter with random() = 1: the ceilings, 500 ms then 1 s (pacing waits are 250 ms or none).
    const backoffs = v.sleeps.filter((ms) => ms !== 1000 / ROUTE53_CALLS.ratePerSecond);
    expect(backoffs).toEqual([ROUTE53_CALLS.backoff.baseMs, ROUTE53_CALLS.backoff.baseMs * 2]);
  });

  it('gives up after its retries with a DnsProviderError that says so, and never retries other errors', async () => {
    const { provider: p } = provider({ hostedZoneId: 'Z1' });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(p.present('_acme-challenge.a.example.com.', 'v')).rejects.toMatchObject({
      name: 'DnsProviderError',
      message: expect.stringContaining(`(after ${ROUTE53_CALLS.retries} retries)`),
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(ROUTE53_CALLS.retries + 1);

    route53.reset();
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [] });
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(p.present('delegated.validation.example.net.', 'v')).rejects.toMatchObject({
      name: 'DnsProviderError',
      hint: expect.stringContaining('_acme-challenge.'),
    });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(1);
  });
});
