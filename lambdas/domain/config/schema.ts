/**
 * The configuration file: one zod schema is the source of the TypeScript types (./types.ts), the
 * validation messages and the published JSON Schema (config.schema.json, `npm run schema`).
 *
 * Only the CLI and the CDK app import this module. Lambdas read the config that `cdk synth`
 * already validated (adapters/config-file `loadDeployedConfig`): zod would be 450 KB of every bundle.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { DEFAULT_RENEW_BEFORE_DAYS } from '../policy';
import { DEFAULT_PUSH_RETRY } from '../retry';

const hostname = z
  .string()
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i,
    'must be a DNS name such as "redis.example.com" or "*.redis.example.com"',
  );

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const KEY_TYPES = ['rsa-2048', 'ecdsa-p256'] as const;

/** An ACME profile name, as in the directory's meta.profiles (Let's Encrypt: classic, tlsserver, shortlived). */
const profileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a profile name such as "tlsserver"');

const validityDays = z
  .number()
  .positive()
  .max(825)
  .describe('Lifetime of each certificate this CA issues, in days (fractions allowed: 0.25 = 6 hours)');

export const awsPrivateCaIssuerSchema = z.strictObject({
  type: z.literal('aws-private-ca'),
  certificateAuthorityArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[A-Za-z0-9-]+$/,
      'must be an AWS Private CA ARN (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID)',
    ),
  templateArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:acm-pca:::template\/.+$/, 'must be an ACM PCA template ARN')
    .optional()
    .describe(
      'Template that sets the extended key usages; without one, an API passthrough asks for serverAuth and clientAuth',
    ),
  validityDays,
  signingAlgorithm: z
    .enum(['SHA256WITHRSA', 'SHA384WITHRSA', 'SHA256WITHECDSA', 'SHA384WITHECDSA'])
    .optional()
    .describe(
      "Must match the CA's key: defaults to SHA256WITHRSA, or SHA256WITHECDSA for an EC CA (give it)",
    ),
});

export const localCaIssuerSchema = z
  .strictObject({
    type: z.literal('local-ca'),
    certFile: z.string().min(1).describe("PEM of the operator's CA certificate (and its chain, if any)"),
    keyFile: z.string().min(1).optional().describe("PEM of the CA's private key (unencrypted)"),
    keySecret: z
      .string()
      .min(1)
      .optional()
      .describe("Secrets Manager secret name or ARN holding the CA's private key PEM"),
    validityDays,
  })
  .refine((v) => (v.keyFile === undefined) !== (v.keySecret === undefined), {
    message: 'set exactly one of "keyFile" or "keySecret"',
    path: ['keyFile'],
  });

export const issuerSchema = z
  .union([z.literal('acme'), awsPrivateCaIssuerSchema, localCaIssuerSchema])
  .describe(
    'Who issues this certificate: "acme" (default), AWS Private CA, or a local CA. Certificates that need clientAuth (syncer, ldap_client) cannot come from a public ACME CA any more',
  );

export const managedCertificateSchema = z.strictObject({
  domains: z.array(hostname).min(1, 'list at least one domain'),
  keyType: z.enum(KEY_TYPES).optional().describe('Key of the new certificate; defaults to acme.keyType'),
  profile: profileName.optional().describe('ACME profile for this certificate; defaults to acme.profile'),
  issuer: issuerSchema.default('acme'),
});

export const clusterSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use letters, digits, ".", "_" or "-" (at most 63)'),
    endpoint: httpsUrl.describe('The REST API, usually https://<cluster-fqdn>:9443'),
    serverName: hostname
      .optional()
      .describe(
        'Name to verify the TLS certificate against (and send as SNI) when the endpoint is an IP or another name',
      ),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional().describe('Prefer passwordEnv or credentialsSecret'),
    passwordEnv: envName.optional(),
    credentialsSecret: z
      .string()
      .min(1)
      .optional()
      .describe('Secrets Manager secret name or ARN holding {"username","password","caPem"?} (AWS mode)'),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe("PEM file of the cluster's CA, trusted in addition to public roots"),
    timeoutSeconds: z.number().positive().max(300).default(20),
    certificates: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]*$/, 'certificate names are like "proxy" or "metrics_exporter"'),
        managedCertificateSchema,
      )
      .default({})
      .describe('Certificates renewed through ACME; all others are watched and alerted on only'),
    probe: z
      .record(z.string(), z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'use host:port')))
      .default({})
      .describe(
        'Extra TLS endpoints that serve a certificate, e.g. {"proxy": ["redis-12000.example.com:12000"]}',
      ),
  })
  .superRefine((value, ctx) => {
    const sources = [value.password, value.passwordEnv, value.credentialsSecret].filter(
      (v) => v !== undefined,
    );
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['password'],
        message: 'set exactly one of "password", "passwordEnv" or "credentialsSecret"',
      });
    }
    if (value.credentialsSecret === undefined && value.username === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'is required unless credentialsSecret is set',
      });
    }
  });

export const acmeSchema = z.strictObject({
  directoryUrl: httpsUrl.default('https://acme-v02.api.letsencrypt.org/directory'),
  email: z.email('must be an email address'),
  caFile: z
    .string()
    .min(1)
    .optional()
    .describe("PEM trusted for the ACME server's TLS and for the certificates it issues"),
  eab: z
    .strictObject({ kid: z.string().min(1), hmacKey: z.string().min(1) })
    .optional()
    .describe('External Account Binding, for CAs that require it'),
  keyType: z.enum(KEY_TYPES).default('rsa-2048'),
  profile: profileName
    .optional()
    .describe('Default ACME profile (newOrder "profile"), checked against the directory\'s meta.profiles'),
});

export const dnsSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('route53'),
    hostedZoneId: z
      .string()
      .regex(/^[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone ID such as Z0123456789ABC'),
    region: z.string().optional(),
  }),
  z.strictObject({
    provider: z.literal('httpreq'),
    endpoint: httpUrl,
    username: z.string().optional(),
    passwordEnv: envName.optional(),
  }),
]);

const alerts = z.strictObject({
  slackWebhookUrl: httpUrl.optional().describe('Local mode; in AWS mode the URL lives in Secrets Manager'),
  slackWebhookSecret: z.string().optional().describe('AWS mode: secret holding the Slack webhook URL'),
  emails: z.array(z.email()).default([]).describe('AWS mode: SNS email subscriptions'),
});

const pushRetry = z
  .strictObject({
    maxAttempts: z.number().int().min(0).max(20).default(DEFAULT_PUSH_RETRY.maxAttempts),
    intervalSeconds: z.number().min(0).max(3600).default(DEFAULT_PUSH_RETRY.intervalSeconds),
    backoffRate: z.number().min(1).max(10).default(DEFAULT_PUSH_RETRY.backoffRate),
    maxDelaySeconds: z.number().min(0).max(3600).default(DEFAULT_PUSH_RETRY.maxDelaySeconds),
    jitter: z.enum(['FULL', 'NONE']).default(DEFAULT_PUSH_RETRY.jitter),
  })
  .describe('How a push answered with 409 is retried, by the CLI and by the Step Functions Retry alike');

const aws = z.strictObject({
  schedule: z
    .string()
    .regex(/^(rate|cron)\(.+\)$/, 'use an EventBridge expression: rate(1 day) or cron(0 6 * * ? *)')
    .default('cron(0 6 * * ? *)'),
  timeZone: z.string().default('UTC'),
  mapConcurrency: z.number().int().min(1).max(40).default(4),
  vpc: z
    .strictObject({
      vpcId: z.string().regex(/^vpc-[0-9a-f]+$/),
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/)).min(1),
      securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/)).default([]),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  renewBeforeDays: z.number().positive().max(365).default(DEFAULT_RENEW_BEFORE_DAYS),
  stateDir: z.string().min(1).default('.rs-cert-watchdog'),
  concurrency: z.number().int().min(1).max(256).default(8).describe('Clusters read side by side'),
  acme: acmeSchema.optional(),
  dns: dnsSchema.optional(),
  alerts: alerts.default({ emails: [] }),
  pushRetry: pushRetry.default(DEFAULT_PUSH_RETRY),
  aws: aws.optional(),
  clusters: z
    .array(clusterSchema)
    .min(1, 'list at least one cluster')
    .superRefine((clusters, ctx) => {
      const seen = new Set<string>();
      clusters.forEach((c, i) => {
        if (seen.has(c.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate cluster name "${c.name}"` });
        seen.add(c.name);
      });
    }),
});

/** Validates a parsed document. Relative paths are resolved against `baseDir`. */
export function parseConfig(document: unknown, baseDir = process.cwd()): z.output<typeof configSchema> {
  const result = configSchema.safeParse(document);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const config = result.data;
  const needsAcme = config.clusters.some((c) =>
    Object.values(c.certificates).some((cert) => cert.issuer === 'acme'),
  );
  if (needsAcme && (!config.acme || !config.dns)) {
    throw new ConfigError(
      'invalid configuration:\n  acme, dns: required when a cluster lists certificates renewed through ACME',
    );
  }
  const at = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  const issuerAt = (issuer: ManagedCertificate['issuer']): ManagedCertificate['issuer'] =>
    typeof issuer === 'object' && issuer.type === 'local-ca'
      ? { ...issuer, certFile: at(issuer.certFile) as string, keyFile: at(issuer.keyFile) }
      : issuer;
  return {
    ...config,
    stateDir: at(config.stateDir) as string,
    acme: config.acme && { ...config.acme, caFile: at(config.acme.caFile) },
    clusters: config.clusters.map((c) => ({
      ...c,
      caFile: at(c.caFile),
      certificates: Object.fromEntries(
        Object.entries(c.certificates).map(([name, cert]) => [
          name,
          { ...cert, issuer: issuerAt(cert.issuer) },
        ]),
      ),
    })),
  };
}

type ManagedCertificate = z.output<typeof managedCertificateSchema>;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}
