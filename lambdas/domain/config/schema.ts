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
import { windowProblem } from '../renewal/windows';
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

export const managedCertificateSchema = z.strictObject({
  domains: z.array(hostname).min(1, 'list at least one domain'),
  keyType: z.enum(KEY_TYPES).optional().describe('Key of the new certificate; defaults to acme.keyType'),
});

export const maintenanceWindowSchema = z
  .strictObject({
    cron: z
      .string()
      .min(1)
      .describe('5-field cron of each opening: minute hour day-of-month month day-of-week'),
    durationMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60),
    timeZone: z.string().min(1).default('UTC').describe('IANA time zone of the cron, e.g. "Europe/Paris"'),
  })
  .superRefine((value, ctx) => {
    const problem = windowProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

const maintenanceWindows = z
  .array(maintenanceWindowSchema)
  .min(1, 'list at least one window, or leave maintenanceWindows out')
  .optional()
  .describe(
    'Pushes happen only inside these windows, unless the current certificate would expire before the next one opens',
  );

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
    pushApi: z
      .enum(['auto', 'certificates', 'update_cert'])
      .default('auto')
      .describe(
        'auto: PUT /v1/cluster/certificates when every node runs RS 7.22.2 or later, else PUT /v1/cluster/update_cert',
      ),
    activeActive: z
      .enum(['alert', 'update'])
      .default('alert')
      .describe(
        'After a proxy or syncer push: alert with the crdb-cli command per Active-Active database, or force-update each',
      ),
    maintenanceWindows: maintenanceWindows.describe("This cluster's windows, instead of the global ones"),
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
  maintenanceWindows,
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
  const needsAcme = config.clusters.some((c) => Object.keys(c.certificates).length > 0);
  if (needsAcme && (!config.acme || !config.dns)) {
    throw new ConfigError(
      'invalid configuration:\n  acme, dns: required when a cluster lists certificates to renew',
    );
  }
  const at = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
    stateDir: at(config.stateDir) as string,
    acme: config.acme && { ...config.acme, caFile: at(config.acme.caFile) },
    clusters: config.clusters.map((c) => ({ ...c, caFile: at(c.caFile) })),
  };
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}
