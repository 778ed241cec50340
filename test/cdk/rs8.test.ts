/**
 * RS 8.x in the deployment: the client certificate's key secret (read by every function that talks
 * to a cluster, written by push alone, its certificate bundled without any key), the issuers of
 * databases and of the client certificate (issue alone), and the configurations synth refuses
 * (internode certificates, keys in the bundle).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { writeBundledConfig } from '../../lib/bundled-config';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { createCa, issueCert } from '../support/pki';
import {
  type FunctionRole,
  synthesizeWatchdog,
  TEST_ACCOUNT,
  TEST_REGION,
} from '../support/synthesized-definition';
import { resolve } from './support/policy-evaluator';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const [east, west] = example.clusters as [
  WatchdogConfig['clusters'][number],
  WatchdogConfig['clusters'][number],
];
const KEY_SECRET = 'rs-cert-watchdog/clusters/prod-east-client-key';
const PCA_ARN =
  'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/99999999-2222-3333-4444-555555555555';
const DB_CA_SECRET = 'rs-cert-watchdog/db-ca-key';
const secretArn = (name: string) =>
  `arn:aws:secretsmanager:${TEST_REGION}:${TEST_ACCOUNT}:secret:${name}-??????`;

let dir: string;
let clientFile: string;
let labCaFile: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchdog-rs8-'));
  const ca = await createCa({ commonName: 'client CA' });
  const client = await issueCert({
    ca,
    dnsNames: [],
    subject: [{ CN: ['rs-cert-watchdog'] }],
    extKeyUsage: ['clientAuth'],
  });
  clientFile = join(dir, 'client.pem');
  // A combined file (key and certificate): only the certificate may reach the bundle.
  writeFileSync(clientFile, `${client.keyPem}${client.chainPem}`);
  labCaFile = join(dir, 'lab-ca.pem');
  writeFileSync(labCaFile, ca.certPem);
});

function config(overrides: Partial<WatchdogConfig['clusters'][number]> = {}): WatchdogConfig {
  return {
    ...example,
    clusters: [
      {
        ...east,
        clientCertificate: {
          certFile: clientFile,
          keySecret: KEY_SECRET,
          issuer: { type: 'aws-private-ca', certificateAuthorityArn: PCA_ARN, validityDays: 30 },
        },
        databases: {
          '12': {
            domains: ['sessions.redis.example.com'],
            issuer: { type: 'local-ca', certFile: labCaFile, keySecret: DB_CA_SECRET, validityDays: 30 },
          },
        },
        ...overrides,
      },
      west,
    ],
  };
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every "action resource" pair of a function's role on secrets and CAs (the grants this phase adds). */
function grantsOf(t: Template, fn: { role?: { node: { defaultChild?: unknown } } | undefined }): string[] {
  const roleId = logicalIdOf(fn.role?.node.defaultChild as CfnElement);
  const pseudo = { 'AWS::Partition': 'aws', 'AWS::Region': TEST_REGION, 'AWS::AccountId': TEST_ACCOUNT };
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => s.Effect === 'Allow' && list(s.Action).every((a) => /^(secretsmanager|acm-pca):/.test(a)))
    .flatMap((s) =>
      list(s.Action).flatMap((a) =>
        list(resolve(s.Resource, pseudo, {}) as string | string[]).map((r) => `${a} ${r}`),
      ),
    );
}

describe('RS 8.x permissions', () => {
  it('every function that talks to a cluster reads the client key secret; only push writes it', () => {
    const { template, stack } = synthesizeWatchdog(config());
    const functions = stack.watchdog.functions;
    for (const role of ['check', 'push', 'verify', 'activeActive', 'notify'] as FunctionRole[])
      expect(grantsOf(template, functions[role]!), role).toContain(
        `secretsmanager:GetSecretValue ${secretArn(KEY_SECRET)}`,
      );
    expect(grantsOf(template, functions.issue), 'issue').not.toContain(
      `secretsmanager:GetSecretValue ${secretArn(KEY_SECRET)}`,
    );
    for (const role of Object.keys(functions) as FunctionRole[]) {
      const writes = grantsOf(template, functions[role]!).filter(
        (g) => g.startsWith('secretsmanager:PutSecretValue') && g.includes('client-key'),
      );
      expect(writes, role).toEqual(
        role === 'push' ? [`secretsmanager:PutSecretValue ${secretArn(KEY_SECRET)}`] : [],
      );
    }
  });

  it('with a roleArn (a cluster in another account), its key secret is read and written as the role only', () => {
    const ROLE = 'arn:aws:iam::210987654321:role/rs-cert-watchdog-reader';
    const { template, stack } = synthesizeWatchdog(config({ roleArn: ROLE }));
    const functions = stack.watchdog.functions;
    for (const role of Object.keys(functions) as FunctionRole[]) {
      const grants = grantsOf(template, functions[role]!);
      expect(
        grants.filter((g) => g.includes('client-key') || g.includes('clusters/prod-east')),
        role,
      ).toEqual([]);
    }
    const roleId = logicalIdOf(functions.push.role?.node.defaultChild as CfnElement);
    const pushStatements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(pushStatements).toContainEqual(
      expect.objectContaining({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE }),
    );
  });

  it('a client certificate without an issuer is only read: nobody may write its secret', () => {
    const { template, stack } = synthesizeWatchdog(
      config({ clientCertificate: { certFile: clientFile, keySecret: KEY_SECRET } }),
    );
    expect(grantsOf(template, stack.watchdog.functions.push)).not.toContain(
      `secretsmanager:PutSecretValue ${secretArn(KEY_SECRET)}`,
    );
  });

  it("issue, and no other function, gets the databases' and the client certificate's issuers", () => {
    const { template, stack } = synthesizeWatchdog(config());
    const functions = stack.watchdog.functions;
    const issuers = [
      ...['IssueCertificate', 'GetCertificate', 'GetCertificateAuthorityCertificate'].map(
        (a) => `acm-pca:${a} ${PCA_ARN}`,
      ),
      `secretsmanager:GetSecretValue ${secretArn(DB_CA_SECRET)}`,
    ];
    expect(grantsOf(template, functions.issue)).toEqual(expect.arrayContaining(issuers));
    for (const role of ['check', 'push', 'verify', 'activeActive', 'notify'] as FunctionRole[])
      for (const grant of issuers) expect(grantsOf(template, functions[role]!), role).not.toContain(grant);
  });

  it('a cluster that logs in with its certificate alone needs no credentialsSecret', () => {
    expect(() =>
      synthesizeWatchdog(config({ credentialsSecret: undefined, caFile: labCaFile })),
    ).not.toThrow();
  });
});

describe('RS 8.x in the bundle', () => {
  it('ships the client certificate without its key, where the functions read it', () => {
    const out = writeBundledConfig(config());
    const document = JSON.parse(readFileSync(join(out, 'watchdog-config.json'), 'utf8'));
    const client = document.config.clusters[0].clientCertificate;
    // Beside the config, named relative to it: the functions resolve it from where the config is.
    expect(client).toMatchObject({ certFile: 'client-prod-east.pem', keySecret: KEY_SECRET });
    const shipped = readFileSync(join(out, 'client-prod-east.pem'), 'utf8');
    expect(shipped).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(shipped).not.toMatch(/PRIVATE KEY/);
    expect(document.config.clusters[0].databases['12'].issuer.certFile).toBe('local-ca-prod-east-bdb-12.pem');
  });
});

describe('RS 8.x refused at synth', () => {
  it('refuses a client certificate key file (it would ship in the bundle)', () => {
    expect(() =>
      synthesizeWatchdog(
        config({ clientCertificate: { certFile: clientFile, keyFile: join(dir, 'client.key') } }),
      ),
    ).toThrow(
      /clientCertificate\.keyFile: not allowed in AWS mode \(the key would ship in the bundle\); use keySecret/,
    );
  });

  it('refuses internode certificates without a private CA, without RSA, or renewed too late for the schedule', () => {
    const internode = (settings: Record<string, unknown>, schedule?: string): WatchdogConfig => ({
      ...config(),
      ...(schedule ? { aws: { ...(example.aws as NonNullable<WatchdogConfig['aws']>), schedule } } : {}),
      clusters: [
        {
          ...east,
          certificates: {
            ...east.certificates,
            ccs_internode_encryption: { domains: ['internode.example.com'], ...settings } as never,
          },
        },
        west,
      ],
    });
    const pca = { type: 'aws-private-ca', certificateAuthorityArn: PCA_ARN, validityDays: 30 };
    expect(() => synthesizeWatchdog(internode({ issuer: 'acme' }))).toThrow(
      /ccs_internode_encryption\.issuer: .* needs a private CA/,
    );
    expect(() => synthesizeWatchdog(internode({ issuer: pca, keyType: 'ecdsa-p256' }))).toThrow(
      /ccs_internode_encryption\.keyType: .* must have an RSA key/,
    );
    // 30 days renews 10 days before expiry: more than 5 days + one day between daily runs, not a week.
    expect(() => synthesizeWatchdog(internode({ issuer: pca }))).not.toThrow();
    expect(() => synthesizeWatchdog(internode({ issuer: pca }, 'cron(0 6 ? * MON *)'))).toThrow(
      /ccs_internode_encryption\.issuer\.validityDays: .* renews 10 days before it expires .* runs can be 16[89](\.\d)? hours apart/,
    );
  });
});
