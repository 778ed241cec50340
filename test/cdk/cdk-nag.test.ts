import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { WatchdogStack } from '../../lib/watchdog-stack';
import { createCa } from '../support/pki';
import { TEST_STACK_NAME, testContext } from '../support/synthesized-definition';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));

const everything: WatchdogConfig = {
  ...example,
  alerts: {
    ...example.alerts,
    slackWebhookSecret: 'arn:aws:secretsmanager:eu-west-3:123456789012:secret:slack',
  },
  aws: {
    ...(example.aws as NonNullable<WatchdogConfig['aws']>),
    vpc: {
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
      securityGroupIds: [],
    },
  },
};

// Issue 13's issuers: AWS Private CA, a local CA (its key in a secret) and an EAB key in a secret.
const caDir = mkdtempSync(join(tmpdir(), 'cdk-nag-issuers-'));
writeFileSync(join(caDir, 'lab-ca.pem'), (await createCa({ keyKind: 'ecdsa' })).certPem);
const [east, west] = example.clusters as [
  WatchdogConfig['clusters'][number],
  WatchdogConfig['clusters'][number],
];
const issuers: WatchdogConfig = {
  ...example,
  acme: {
    ...(example.acme as NonNullable<WatchdogConfig['acme']>),
    eab: { kid: 'kid-1', hmacKeySecret: 'rs-cert-watchdog/eab' },
  },
  clusters: [
    {
      ...east,
      certificates: {
        ...east.certificates,
        syncer: {
          domains: ['syncer.example.com'],
          issuer: {
            type: 'aws-private-ca',
            certificateAuthorityArn:
              'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555',
            validityDays: 30,
          },
        },
      },
    },
    {
      ...west,
      certificates: {
        ...west.certificates,
        ldap_client: {
          domains: ['ldap.example.com'],
          issuer: {
            type: 'local-ca',
            certFile: join(caDir, 'lab-ca.pem'),
            keySecret: 'rs-cert-watchdog/lab-ca-key',
            validityDays: 6,
          },
        },
      },
    },
  ],
};

// Issue 22: Route 53 zones found by name (any zone, ListHostedZonesByName), an RFC 2136 nameserver
// reached from the VPC with its TSIG secret, an httpreq password secret.
const dnsProviders: WatchdogConfig = {
  ...everything,
  dns: [
    { provider: 'route53', privateZone: false, followCnames: true, propagationTimeoutSeconds: 120 },
    {
      provider: 'rfc2136',
      nameserver: '10.0.0.53:53',
      tsigKeyName: 'watchdog',
      tsigAlgorithm: 'hmac-sha256',
      tsigSecretSecret: 'rs-cert-watchdog/dns/tsig',
      followCnames: true,
      propagationTimeoutSeconds: 300,
      zones: ['corp.example.com'],
    },
    {
      provider: 'httpreq',
      endpoint: 'https://dns-api.example.com',
      username: 'lego',
      passwordSecret: 'rs-cert-watchdog/dns/httpreq',
      followCnames: true,
      propagationTimeoutSeconds: 120,
      zones: ['lab.example.com'],
    },
  ],
};

function appWith(config: WatchdogConfig, region?: string) {
  const app = new App({ context: testContext(), outdir: mkdtempSync(join(tmpdir(), 'cdk-nag-test-')) });
  const stack = new WatchdogStack(app, TEST_STACK_NAME, {
    config,
    // bin/app.ts synthesizes for a region when -c region=… names one: ARNs then carry the partition.
    ...(region ? { env: { region } } : {}),
    watchdog: { slackChannelConfiguration: { slackWorkspaceId: 'T0123456', slackChannelId: 'C0123456789' } },
  });
  return { app, stack };
}

describe.each([
  ['the example config', example, undefined],
  ['every option (VPC, Slack webhook, Chatbot)', everything, undefined],
  ['the example config in eu-west-3 (region-specific)', example, 'eu-west-3'],
  ['private CAs and an EAB key secret', issuers, undefined],
  ['DNS-01 providers (Route 53 zones by name, RFC 2136 in the VPC, httpreq)', dnsProviders, undefined],
])('cdk-nag AwsSolutions with %s', (_name, config, region) => {
  it('has no unacknowledged error or warning', () => {
    const { app } = appWith(config, region);
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
  });

  it('passes synth with the checks registered as in bin/app.ts, and no CDK warning', () => {
    const { app, stack } = appWith(config, region);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

it('still reports what is not acknowledged (the checks do run)', () => {
  const { app, stack } = appWith(example);
  // An unencrypted, plain-HTTP topic next to the watchdog.
  new sns.Topic(stack, 'Unchecked');
  const report = new AwsSolutionsChecks().validateScope(app);
  expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-SNS3');
});
