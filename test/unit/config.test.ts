import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, parseConfig } from '../../lambdas/domain/config/schema';
import { ConfigError } from '../../lambdas/domain/errors';

const cluster = {
  name: 'prod-east',
  endpoint: 'https://cluster.example.com:9443',
  username: 'admin@example.com',
  passwordEnv: 'RS_PASSWORD',
};

function message(document: unknown): string {
  try {
    parseConfig(document, '/etc/watchdog');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  return 'valid';
}

describe('configuration', () => {
  it('applies defaults and resolves relative paths against the config directory', () => {
    const config = parseConfig({ clusters: [{ ...cluster, caFile: 'ca.pem' }] }, '/etc/watchdog');
    expect(config.renewBeforeDays).toBe(30);
    expect(config.stateDir).toBe('/etc/watchdog/.rs-cert-watchdog');
    expect(config.clusters[0]!.caFile).toBe('/etc/watchdog/ca.pem');
    expect(config.clusters[0]!.timeoutSeconds).toBe(20);
    expect(config.pushRetry).toMatchObject({
      maxAttempts: 6,
      intervalSeconds: 10,
      backoffRate: 2,
      jitter: 'FULL',
    });
  });

  it.each([
    [{}, /^invalid configuration:\n {2}clusters: is required: list the clusters to watch/],
    [{ clusters: 'prod' }, /clusters: must be a list \[\.\.\.\] \(it is a string\)/],
    [{ clusters: [] }, /clusters: list at least one cluster/],
    [
      { clusters: [{ ...cluster, endpoint: 'http://x:9443' }] },
      /clusters\[0\]\.endpoint: must be an https:\/\/ URL/,
    ],
    [{ clusters: [{ ...cluster, password: 'x' }] }, /clusters\[0\]\.password: set exactly one of/],
    [
      { clusters: [{ ...cluster, username: undefined }] },
      /clusters\[0\]\.username: is required unless credentialsSecret/,
    ],
    [{ clusters: [cluster, cluster] }, /clusters\[1\]\.name: duplicate cluster name "prod-east"/],
    [
      { clusters: [{ ...cluster, certificates: { proxy: { domains: ['not a domain'] } } }] },
      /domains\[0\]: must be a DNS name/,
    ],
    [
      { clusters: [{ ...cluster, certificates: { proxy: { domains: ['a.example.com'] } } }] },
      /acme, dns: required when a cluster lists certificates/,
    ],
    [{ clusters: [cluster], renewBeforeDays: -1 }, /renewBeforeDays: /],
    [{ clusters: [cluster], dns: { provider: 'cloudflare' } }, /dns\.provider: /],
    [{ clusters: [cluster], acme: { email: 'nope' } }, /acme\.email: must be an email address/],
    [
      { clusters: [{ ...cluster, pasword: 'typo' }] },
      /clusters\[0\]\.pasword: unknown key; did you mean "password"\?/,
    ],
    [
      { clusters: [cluster], renewBeforDays: 30 },
      /renewBeforDays: unknown key; did you mean "renewBeforeDays"\?/,
    ],
  ])('rejects %j with a message naming the field', (document, expected) => {
    expect(message(document)).toMatch(expected);
  });

  it('publishes a JSON Schema generated from the same source, committed up to date', () => {
    const committed = JSON.parse(readFileSync('config.schema.json', 'utf8'));
    expect(committed).toEqual(configJsonSchema());
    expect(JSON.stringify(committed)).toContain('credentialsSecret');
  });
});
