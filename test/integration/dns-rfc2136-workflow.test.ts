/**
 * RFC 2136 from the issue function, through the executed state machine: the issue task builds its
 * DNS-01 providers from the config as on AWS (wiring/dns01 through wiring/issuers), reads the TSIG
 * secret from Secrets Manager (`tsigSecretSecret`, the loopback Secrets Manager), updates a real BIND on loopback
 * that Pebble validates against, and removes the record on success and on failure alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, RRTYPE } from '../../lambdas/adapters/dns-wire';
import { type BindServer, newTsigKey, startBind } from '../support/bind';
import { localWorkflow, watchdogAwsOf } from '../support/local-workflow';
import { daysFromNow, startWorld, type World } from '../support/world';

const TSIG_SECRET_ID = 'rs-cert-watchdog/dns/tsig';

describe('RFC 2136 from the issue function, in the executed state machine', () => {
  let bind: BindServer;
  let world: World;
  const key = newTsigKey('watchdog-key', 'hmac-sha512');

  beforeAll(async () => {
    bind = await startBind({ key, recursive: true, zones: [{ name: 'example.com' }] });
    world = await startWorld({
      clusters: {
        east: {
          certificates: {
            proxy: {
              dnsNames: ['*.redis.example.com'],
              notBefore: daysFromNow(-85),
              notAfter: daysFromNow(5),
            },
          },
        },
      },
      pebble: { dnsServer: bind.address },
    });
  });
  afterAll(async () => {
    await world?.close();
    await bind?.stop();
  });
  const storeTsigSecret = async (secret: string) =>
    (await watchdogAwsOf(world)).secretsManager.seed(TSIG_SECRET_ID, secret);

  const config = (secretId = TSIG_SECRET_ID) =>
    world.writeConfig(
      {
        dns: {
          provider: 'rfc2136',
          nameserver: bind.address,
          tsigKeyName: key.name,
          tsigAlgorithm: 'hmac-sha512',
          tsigSecretSecret: secretId,
          resolvers: [bind.address],
        },
      },
      { east: { certificates: { proxy: { domains: ['*.redis.example.com', 'redis.example.com'] } } } },
    );

  const txt = async (name: string) =>
    (
      await ask({ host: '127.0.0.1', port: bind.port }, name, RRTYPE.TXT, {
        recursionDesired: false,
        timeoutMs: 2_000,
      })
    ).answers.map((r) => r.value);

  it('renews: the wildcard and its apex share one name, both values go in one signed update, both are removed', async () => {
    await storeTsigSecret(key.secret);
    const before = world.sims.east!.certificate('proxy')!.fingerprint256;
    const workflow = await localWorkflow(world, await config());
    await workflow.execute();

    expect(workflow.alerts.map((a) => a.kind)).toEqual(['renewed']);
    expect(world.sims.east!.certificate('proxy')!.fingerprint256).not.toBe(before);
    const adds = [...bind.log().matchAll(/updating zone 'example\.com\/IN': adding an RR at '([^']+)' TXT/g)];
    expect(adds.map((m) => m[1])).toEqual([
      '_acme-challenge.redis.example.com',
      '_acme-challenge.redis.example.com',
    ]);
    expect(await txt('_acme-challenge.redis.example.com')).toEqual([]);
    // Read once, by the issue function, from the secret the config names (its role allows that).
    const reads = workflow.awsCalls.filter(
      (c) => c.action === 'secretsmanager:GetSecretValue' && c.resource.includes(`:secret:${TSIG_SECRET_ID}`),
    );
    expect(reads.map((c) => [c.role, c.decision])).toEqual([['issue', 'allowed']]);
  });

  it('fails the item with DnsTsigError when the secret holds another key: a failure alert, nothing pushed', async () => {
    await storeTsigSecret(newTsigKey().secret);
    const puts = () => world.sims.east!.requests.filter((r) => r.method === 'PUT').length;
    const putsBefore = puts();
    const workflow = await localWorkflow(world, await config());
    await workflow.execute({ force: ['east/proxy'] });

    const failed = workflow.alerts.find((a) => a.kind === 'renewal-failed');
    expect(failed).toMatchObject({
      error: { name: 'DnsTsigError', message: expect.stringContaining('BADSIG') },
    });
    expect(puts()).toBe(putsBefore);
    expect(await txt('_acme-challenge.redis.example.com')).toEqual([]);
  });
});
