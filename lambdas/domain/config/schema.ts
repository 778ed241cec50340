/**
 * The configuration file: one zod schema is the source of the TypeScript types (./types.ts), the
 * validation messages and the published JSON Schema (config.schema.json, `npm run schema`).
 *
 * Only the CLI and the CDK app import this module. Lambdas read the config that `cdk synth`
 * already validated (adapters/config-file `loadDeployedConfig`): zod would weigh on every bundle.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { kindProblems } from '../certificate-kinds';
import { unservedDomains } from '../dns-settings';
import { ConfigError } from '../errors';
import { DEFAULT_RENEW_BEFORE_DAYS } from '../policy';
import { containsUserInfoUrl, hasUserInfo } from '../redact';
import { DEFAULT_ORDER_BUDGET } from '../renewal/order-budget';
import { windowProblem } from '../renewal/windows';
import { DEFAULT_PUSH_RETRY, DNS_PROPAGATION, RS_CONNECT_TIMEOUT_MS, RS_GET_RETRY } from '../retry';
import { measureSchedule } from '../schedule';
import { resolveConfigPaths } from './paths';

// zod/mini: the same validator and JSON Schema as classic zod at a fraction of its start-up cost
// (classic binds every method on every schema; measured in bench/cli). English messages, as classic
// has them, and no compiled fast path: a configuration is parsed once per process.
z.config({ ...en(), jitless: true });

/** A copy of `schema` with a description (the published JSON Schema shows it). */
const described = <T extends z.ZodMiniType>(schema: T, description: string): T =>
  schema.check(z.describe(description));

const hostname = z
  .string()
  .check(
    z.regex(
      /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i,
      'must be a DNS name such as "redis.example.com" or "*.redis.example.com"',
    ),
  );

const httpsUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL' });
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });
const envName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'));
const nonEmpty = () => z.string().check(z.minLength(1));

/** Exactly one of these optional fields is set (a secret's sources); the issue sits at the first. */
function exactlyOneOf<K extends string>(...keys: [K, K, ...K[]]) {
  const quoted = keys.map((k) => `"${k}"`);
  return z.refine<Partial<Record<K, unknown>>>(
    (value) => keys.filter((k) => value[k] !== undefined).length === 1,
    {
      message: `set exactly one of ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`,
      path: [keys[0]],
    },
  );
}

const KEY_TYPES = ['rsa-2048', 'ecdsa-p256'] as const;

/** An ACME profile name, as in the directory's meta.profiles (Let's Encrypt: classic, tlsserver, shortlived). */
const profileName = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a profile name such as "tlsserver"'));

const validityDays = described(
  z.number().check(z.positive(), z.lte(825)),
  'Lifetime of each certificate this CA issues, in days (fractions allowed: 0.25 = 6 hours)',
);

export const awsPrivateCaIssuerSchema = z.strictObject({
  type: z.literal('aws-private-ca'),
  certificateAuthorityArn: z
    .string()
    .check(
      z.regex(
        /^arn:aws[a-z-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[A-Za-z0-9-]+$/,
        'must be an AWS Private CA ARN (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID)',
      ),
    ),
  templateArn: described(
    z.optional(
      z.string().check(z.regex(/^arn:aws[a-z-]*:acm-pca:::template\/.+$/, 'must be an ACM PCA template ARN')),
    ),
    'Template that sets the extended key usages; without one, an API passthrough asks for serverAuth and clientAuth',
  ),
  validityDays,
  signingAlgorithm: described(
    z.optional(z.enum(['SHA256WITHRSA', 'SHA384WITHRSA', 'SHA256WITHECDSA', 'SHA384WITHECDSA'])),
    "Must match the CA's key: defaults to SHA256WITHRSA, or SHA256WITHECDSA for an EC CA (give it)",
  ),
});

export const localCaIssuerSchema = z
  .strictObject({
    type: z.literal('local-ca'),
    certFile: described(nonEmpty(), "PEM of the operator's CA certificate (and its chain, if any)"),
    keyFile: described(z.optional(nonEmpty()), "PEM of the CA's private key (unencrypted)"),
    keySecret: described(
      z.optional(nonEmpty()),
      "Secrets Manager secret name or ARN holding the CA's private key PEM",
    ),
    validityDays,
  })
  .check(exactlyOneOf('keyFile', 'keySecret'));

export const issuerSchema = described(
  z.union([z.literal('acme'), awsPrivateCaIssuerSchema, localCaIssuerSchema]),
  'Who issues this certificate: "acme" (default), AWS Private CA, or a local CA. Certificates that need clientAuth (syncer, ldap_client) cannot come from a public ACME CA any more',
);

/** "host", "host:port" or "[v6]:port": a DNS server (port 53 unless given). */
const dnsServer = z
  .string()
  .check(
    z.regex(
      /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:\d{1,5})?$/,
      'must be a DNS server as "host" or "host:port" (an IPv6 address in brackets: "[2001:db8::53]:53")',
    ),
  );

/** A zone or name suffix: "example.com". */
const dnsZone = z
  .string()
  .check(
    z.regex(
      /^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.?$/i,
      'must be a DNS zone such as "example.com"',
    ),
  );

/** What every DNS-01 provider shares: which names it serves, CNAME delegation, the propagation check. */
const dnsCommon = {
  zones: described(
    z.optional(z.array(dnsZone).check(z.minLength(1, 'list at least one zone, or leave zones out'))),
    'In a list of providers: the names this one serves (each name goes to the provider with the longest matching zone; one without zones serves the rest)',
  ),
  followCnames: described(
    z._default(z.boolean(), true),
    'Follow a CNAME at _acme-challenge.<name> (up to 8 links) and write the TXT record where it ends',
  ),
  resolvers: described(
    z.optional(
      z.array(dnsServer).check(z.minLength(1, 'list at least one resolver, or leave resolvers out')),
    ),
    'Ask only these servers ("host:port") for the propagation check and the CNAME lookups; by default the zone\'s authoritative servers',
  ),
  propagationTimeoutSeconds: described(
    z._default(
      z.int().check(z.gte(1), z.lte(DNS_PROPAGATION.maxTimeoutSeconds)),
      DNS_PROPAGATION.timeoutMs / 1000,
    ),
    'How long every TXT value may take to be visible on every server asked, before the CA is asked to validate',
  ),
};

export const route53DnsSchema = z
  .strictObject({
    provider: z.literal('route53'),
    hostedZoneId: described(
      z.optional(
        z
          .string()
          .check(z.regex(/^[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone ID such as Z0123456789ABC')),
      ),
      'Write every record into this one zone; without it each name goes to the hosted zone with the longest matching suffix',
    ),
    hostedZoneIds: described(
      z.optional(
        z
          .array(
            z
              .string()
              .check(z.regex(/^[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone ID such as Z0123456789ABC')),
          )
          .check(z.minLength(1, 'list at least one zone ID, or leave hostedZoneIds out')),
      ),
      'The only zones records may be written to (IAM is scoped to them); zones are still found by name',
    ),
    privateZone: described(
      z._default(z.boolean(), false),
      'Write into private hosted zones (a CA that resolves inside the VPC) instead of public ones',
    ),
    region: z.optional(z.string()),
    ...dnsCommon,
  })
  .check(
    z.refine((v) => !(v.hostedZoneId !== undefined && v.hostedZoneIds !== undefined), {
      message: 'set hostedZoneId or hostedZoneIds, not both',
      path: ['hostedZoneId'],
    }),
  );

export const httpreqDnsSchema = z
  .strictObject({
    provider: z.literal('httpreq'),
    endpoint: httpUrl,
    username: z.optional(z.string()),
    passwordEnv: described(z.optional(envName), 'Environment variable holding the password (local mode)'),
    passwordSecret: described(
      z.optional(nonEmpty()),
      'Secrets Manager secret name or ARN whose SecretString is the password (AWS mode; the CLI reads it too)',
    ),
    ...dnsCommon,
  })
  .check(
    z.refine((v) => !(v.passwordEnv !== undefined && v.passwordSecret !== undefined), {
      message: 'set passwordEnv or passwordSecret, not both',
      path: ['passwordEnv'],
    }),
    z.refine(
      (v) => (v.passwordEnv === undefined && v.passwordSecret === undefined) || v.username !== undefined,
      {
        message: 'is required with passwordEnv or passwordSecret (Basic authentication)',
        path: ['username'],
      },
    ),
  );

export const TSIG_ALGORITHMS = [
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
  'hmac-sha224',
  'hmac-sha1',
  'hmac-md5',
] as const;

export const rfc2136DnsSchema = z
  .strictObject({
    provider: z.literal('rfc2136'),
    nameserver: described(
      dnsServer,
      'The zone\'s primary server, which accepts dynamic updates: "host:port"',
    ),
    zone: described(
      z.optional(dnsZone),
      'The zone to update; by default the one the nameserver says holds each name (its SOA)',
    ),
    tsigKeyName: described(z.optional(nonEmpty()), "The TSIG key's name, as in the server's key statement"),
    tsigAlgorithm: z._default(z.enum(TSIG_ALGORITHMS), 'hmac-sha256'),
    tsigSecretEnv: described(
      z.optional(envName),
      "Environment variable holding the TSIG key's secret, base64 (local mode)",
    ),
    tsigSecretSecret: described(
      z.optional(nonEmpty()),
      "Secrets Manager secret name or ARN whose SecretString is the TSIG key's secret, base64 (AWS mode; the CLI reads it too)",
    ),
    ...dnsCommon,
  })
  .check(
    z.superRefine((v, ctx) => {
      const sources = [v.tsigSecretEnv, v.tsigSecretSecret].filter((s) => s !== undefined).length;
      if (v.tsigKeyName !== undefined && sources !== 1)
        ctx.addIssue({
          code: 'custom',
          path: ['tsigSecretEnv'],
          message: 'set exactly one of "tsigSecretEnv" or "tsigSecretSecret" with tsigKeyName',
        });
      if (v.tsigKeyName === undefined && sources > 0)
        ctx.addIssue({ code: 'custom', path: ['tsigKeyName'], message: 'is required with a TSIG secret' });
    }),
  );

export const execDnsSchema = z.strictObject({
  provider: z.literal('exec'),
  command: described(
    z.array(nonEmpty()).check(z.minLength(1, 'give the program to run, e.g. ["/usr/local/bin/dns-hook"]')),
    "The program and its first arguments (no shell); it is run as `<command...> present|cleanup <fqdn> <value>` (lego's exec contract). CLI only",
  ),
  timeoutSeconds: z._default(z.int().check(z.gte(1), z.lte(600)), 60),
  ...dnsCommon,
});

export const dnsProviderSchema = z.discriminatedUnion('provider', [
  route53DnsSchema,
  httpreqDnsSchema,
  rfc2136DnsSchema,
  execDnsSchema,
]);

/** One provider, or a list of providers each serving its `zones` (one without zones serves the rest). */
export const dnsSchema = described(
  z.union([
    dnsProviderSchema,
    z.array(dnsProviderSchema).check(
      z.minLength(1, 'list at least one provider'),
      z.refine((list) => list.filter((p) => p.zones === undefined).length <= 1, {
        message: 'at most one provider of a list may leave out zones (it serves the names no other does)',
      }),
    ),
  ]),
  'DNS-01: where challenge records are written. Global, per cluster or per certificate: the most specific one that serves a name wins',
);

export const managedCertificateSchema = z.strictObject({
  domains: z.array(hostname).check(z.minLength(1, 'list at least one domain')),
  keyType: described(z.optional(z.enum(KEY_TYPES)), 'Key of the new certificate; defaults to acme.keyType'),
  profile: described(z.optional(profileName), 'ACME profile for this certificate; defaults to acme.profile'),
  issuer: z._default(issuerSchema, 'acme'),
  dns: described(
    z.optional(dnsSchema),
    "This certificate's DNS-01 provider(s), over the cluster's and the global ones",
  ),
});

/** RS 8.x: the certificate the watchdog presents to the REST API (certificate login). */
export const clientCertificateSchema = z
  .strictObject({
    certFile: described(
      nonEmpty(),
      'PEM of the client certificate (leaf first, then its chain) presented on every connection to the REST API',
    ),
    keyFile: described(z.optional(nonEmpty()), 'PEM of its private key (unencrypted; local mode)'),
    keySecret: described(
      z.optional(nonEmpty()),
      'Secrets Manager secret name or ARN holding its private key PEM (AWS mode); a renewal writes the new key and certificate there as a new version',
    ),
    issuer: described(
      z.optional(z.union([awsPrivateCaIssuerSchema, localCaIssuerSchema])),
      'A private CA that renews it with the same subject before it expires; without one it is watched and alerted on only',
    ),
    keyType: described(
      z.optional(z.enum(KEY_TYPES)),
      "Key of the renewed certificate; defaults to the current certificate's key type",
    ),
  })
  .check(exactlyOneOf('keyFile', 'keySecret'));

export const maintenanceWindowSchema = z
  .strictObject({
    cron: described(nonEmpty(), '5-field cron of each opening: minute hour day-of-month month day-of-week'),
    durationMinutes: z.int().check(z.gte(1), z.lte(7 * 24 * 60)),
    timeZone: described(z._default(nonEmpty(), 'UTC'), 'IANA time zone of the cron, e.g. "Europe/Paris"'),
  })
  .check(
    z.superRefine((value, ctx) => {
      const problem = windowProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: problem });
    }),
  );

const maintenanceWindows = described(
  z.optional(
    z
      .array(maintenanceWindowSchema)
      .check(z.minLength(1, 'list at least one window, or leave maintenanceWindows out')),
  ),
  'Pushes happen only inside these windows, unless the current certificate would expire before the next one opens',
);

export const clusterSchema = z
  .strictObject({
    name: z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use letters, digits, ".", "_" or "-" (at most 63)'),
      ),
    endpoint: described(httpsUrl, 'The REST API, usually https://<cluster-fqdn>:9443'),
    serverName: described(
      z.optional(hostname),
      'Name to verify the TLS certificate against (and send as SNI) when the endpoint is an IP or another name',
    ),
    username: described(
      z.optional(nonEmpty()),
      'REST API user (Basic authentication); optional with clientCertificate',
    ),
    password: described(z.optional(nonEmpty()), 'Prefer passwordEnv or credentialsSecret'),
    passwordEnv: z.optional(envName),
    credentialsSecret: described(
      z.optional(nonEmpty()),
      'Secrets Manager secret name or ARN holding {"username","password","caPem"?} (AWS mode)',
    ),
    caFile: described(
      z.optional(nonEmpty()),
      "PEM file of the cluster's CA, trusted in addition to public roots",
    ),
    timeoutSeconds: z._default(z.number().check(z.positive(), z.lte(300)), 20),
    connectTimeoutSeconds: described(
      z.optional(z.number().check(z.positive(), z.lte(300))),
      `How long one attempt to open the TLS connection to the REST API may take (default ${RS_CONNECT_TIMEOUT_MS / 1000} s, at most timeoutSeconds); a GET makes up to ${1 + RS_GET_RETRY.retries} attempts`,
    ),
    certificates: described(
      z._default(
        z.record(
          z
            .string()
            .check(z.regex(/^[a-z][a-z0-9_]*$/, 'certificate names are like "proxy" or "metrics_exporter"')),
          managedCertificateSchema,
        ),
        {},
      ),
      'Certificates renewed through ACME; all others are watched and alerted on only',
    ),
    probe: described(
      z._default(
        z.record(z.string(), z.array(z.string().check(z.regex(/^[^:\s]+:\d{1,5}$/, 'use host:port')))),
        {},
      ),
      'Extra TLS endpoints that serve a certificate, e.g. {"proxy": ["redis-12000.example.com:12000"]}',
    ),
    pushApi: described(
      z._default(z.enum(['auto', 'certificates', 'update_cert']), 'auto'),
      'auto: PUT /v1/cluster/certificates when every node runs RS 7.22.2 or later, else PUT /v1/cluster/update_cert',
    ),
    activeActive: described(
      z._default(z.enum(['alert', 'update']), 'alert'),
      'After a proxy or syncer push: alert with the crdb-cli command per Active-Active database, or force-update each',
    ),
    maintenanceWindows: described(maintenanceWindows, "This cluster's windows, instead of the global ones"),
    dns: described(z.optional(dnsSchema), "This cluster's DNS-01 provider(s), over the global ones"),
    databases: described(
      z._default(
        z.record(
          z.string().check(z.regex(/^[1-9][0-9]{0,9}$/, 'database uids are positive integers such as "12"')),
          managedCertificateSchema,
        ),
        {},
      ),
      'RS 8.x: databases whose own proxy certificate is renewed (POST /v1/bdbs/{uid}/certificates), by uid; every database certificate is watched as bdb:<uid>',
    ),
    clientCertificate: described(
      z.optional(clientCertificateSchema),
      'RS 7.8.4+: log in to the REST API with this client certificate (required once RS 8.2 turns Basic authentication off); username and password become optional',
    ),
    roleArn: described(
      z.optional(
        z
          .string()
          .check(
            z.regex(
              /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
              'must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)',
            ),
          ),
      ),
      "A role (usually in the cluster's own account) assumed to read (and write) this cluster's secrets, credentialsSecret and clientCertificate.keySecret: for clusters whose secrets live in another account",
    ),
    roleExternalId: described(
      z.optional(
        z
          .string()
          .check(
            z.regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2 to 1224 letters, digits or +=,.@:/-_ characters'),
          ),
      ),
      "sts:ExternalId sent when assuming roleArn, when the role's trust policy requires one",
    ),
  })
  .check(
    z.superRefine((value, ctx) => {
      // A password source is required, exactly one, unless a client certificate logs in (then at most one).
      const sources = (['password', 'passwordEnv', 'credentialsSecret'] as const).filter(
        (k) => value[k] !== undefined,
      );
      if (sources.length > 1 || (sources.length === 0 && value.clientCertificate === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['password'],
          message: value.clientCertificate
            ? 'set at most one of "password", "passwordEnv" or "credentialsSecret" (optional with clientCertificate)'
            : 'set exactly one of "password", "passwordEnv" or "credentialsSecret" (or log in with "clientCertificate")',
        });
      }
      const needsUsername = value.password !== undefined || value.passwordEnv !== undefined;
      if (needsUsername && value.username === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['username'],
          message: 'is required unless credentialsSecret is set (password and passwordEnv need it)',
        });
      }
      if (!needsUsername && value.credentialsSecret === undefined && value.clientCertificate === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['username'],
          message: 'is required unless credentialsSecret or clientCertificate is set',
        });
      }
      if (
        value.roleArn !== undefined &&
        value.credentialsSecret === undefined &&
        value.clientCertificate?.keySecret === undefined
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['roleArn'],
          message:
            'is used to read credentialsSecret or clientCertificate.keySecret: set one of them, or remove roleArn',
        });
      }
      if (value.roleExternalId !== undefined && value.roleArn === undefined) {
        ctx.addIssue({ code: 'custom', path: ['roleExternalId'], message: 'needs roleArn' });
      }
    }),
  );

export const acmeSchema = z.strictObject({
  directoryUrl: z._default(httpsUrl, 'https://acme-v02.api.letsencrypt.org/directory'),
  email: z.email('must be an email address'),
  caFile: described(
    z.optional(nonEmpty()),
    "PEM trusted for the ACME server's TLS and for the certificates it issues",
  ),
  eab: described(
    z.optional(
      z
        .strictObject({
          kid: nonEmpty(),
          hmacKey: described(
            z.optional(nonEmpty()),
            'Local only and discouraged: the key in the file. Prefer hmacKeyEnv or hmacKeySecret',
          ),
          hmacKeyEnv: described(
            z.optional(envName),
            'Environment variable holding the EAB HMAC key (local mode)',
          ),
          hmacKeySecret: described(
            z.optional(nonEmpty()),
            'Secrets Manager secret name or ARN whose SecretString is the EAB HMAC key (AWS mode)',
          ),
        })
        .check(exactlyOneOf('hmacKey', 'hmacKeyEnv', 'hmacKeySecret')),
    ),
    'External Account Binding, for CAs that require it',
  ),
  keyType: z._default(z.enum(KEY_TYPES), 'rsa-2048'),
  profile: described(
    z.optional(profileName),
    'Default ACME profile (newOrder "profile"), checked against the directory\'s meta.profiles',
  ),
  ari: described(
    z.optional(z.boolean()),
    'Ask the CA for ACME Renewal Information (RFC 9773); default true. false: no renewalInfo request at all, the lifetime policy alone decides, and no order names the certificate it replaces',
  ),
  orderBudget: described(
    z.optional(z.int().check(z.gte(0), z.lte(100_000))),
    `New ACME orders one run may place (Let's Encrypt allows 300 per account per 3 hours). The most urgent due certificates get them; the others are deferred to the next run. Orders that name the certificate they replace (ARI) are counted apart. Default ${DEFAULT_ORDER_BUDGET}`,
  ),
  replacesOrderBudget: described(
    z.optional(z.int().check(z.gte(0), z.lte(1_000_000))),
    'ACME orders naming the certificate they replace (ARI "replaces", exempt from Let\'s Encrypt\'s rate limits) one run may place. Default: no cap',
  ),
});

const alerts = z.strictObject({
  slackWebhookUrl: described(z.optional(httpUrl), 'Local mode; in AWS mode the URL lives in Secrets Manager'),
  slackWebhookSecret: described(z.optional(z.string()), 'AWS mode: secret holding the Slack webhook URL'),
  emails: described(z._default(z.array(z.email()), []), 'AWS mode: SNS email subscriptions'),
});

const pushRetry = described(
  z.strictObject({
    maxAttempts: z._default(z.int().check(z.gte(0), z.lte(20)), DEFAULT_PUSH_RETRY.maxAttempts),
    intervalSeconds: z._default(z.number().check(z.gte(0), z.lte(3600)), DEFAULT_PUSH_RETRY.intervalSeconds),
    backoffRate: z._default(z.number().check(z.gte(1), z.lte(10)), DEFAULT_PUSH_RETRY.backoffRate),
    maxDelaySeconds: z._default(z.number().check(z.gte(0), z.lte(3600)), DEFAULT_PUSH_RETRY.maxDelaySeconds),
    jitter: z._default(z.enum(['FULL', 'NONE']), DEFAULT_PUSH_RETRY.jitter),
  }),
  'How a push answered with 409 is retried, by the CLI and by the Step Functions Retry alike',
);

/** One check shard: 50 clusters read in about 5 s at 256 MB (README, "Scale"); 40 shards side by side. */
export const DEFAULT_CHECK_SHARDS = { clustersPerShard: 50, concurrency: 40 } as const;

export const awsSchema = z.strictObject({
  schedule: z._default(
    z
      .string()
      .check(
        z.regex(/^(rate|cron)\(.+\)$/, 'use an EventBridge expression: rate(1 day) or cron(0 6 * * ? *)'),
      ),
    'cron(0 6 * * ? *)',
  ),
  timeZone: z._default(z.string(), 'UTC'),
  mapConcurrency: described(
    z._default(z.int().check(z.gte(1), z.lte(1000)), 4),
    'Clusters renewed side by side: child executions of the renewals Distributed Map',
  ),
  checkShards: described(
    z._default(
      z.strictObject({
        clustersPerShard: described(
          z._default(z.int().check(z.gte(1), z.lte(1000)), DEFAULT_CHECK_SHARDS.clustersPerShard),
          'Clusters one check shard (one Lambda invocation) reads; it must finish within the check timeout',
        ),
        concurrency: described(
          z._default(z.int().check(z.gte(1), z.lte(1000)), DEFAULT_CHECK_SHARDS.concurrency),
          'Check shards run side by side (child executions of the check Distributed Map)',
        ),
      }),
      DEFAULT_CHECK_SHARDS,
    ),
    'How the fleet check is split: the cluster list (in S3) is read in batches, one Lambda invocation each',
  ),
  reportRetentionDays: described(
    z._default(z.int().check(z.gte(1), z.lte(3650)), 90),
    "Days a run's report, plan and results are kept in the report bucket before S3 expires them",
  ),
  vpc: z.optional(
    z.strictObject({
      vpcId: z.string().check(z.regex(/^vpc-[0-9a-f]+$/)),
      subnetIds: z.array(z.string().check(z.regex(/^subnet-[0-9a-f]+$/))).check(z.minLength(1)),
      securityGroupIds: z._default(z.array(z.string().check(z.regex(/^sg-[0-9a-f]+$/))), []),
    }),
  ),
});

export const configSchema = z.strictObject({
  $schema: z.optional(z.string()),
  renewBeforeDays: z._default(z.number().check(z.positive(), z.lte(365)), DEFAULT_RENEW_BEFORE_DAYS),
  stateDir: z._default(nonEmpty(), '.rs-cert-watchdog'),
  concurrency: described(z._default(z.int().check(z.gte(1), z.lte(256)), 8), 'Clusters read side by side'),
  acme: z.optional(acmeSchema),
  dns: z.optional(dnsSchema),
  alerts: z._default(alerts, { emails: [] }),
  pushRetry: z._default(pushRetry, DEFAULT_PUSH_RETRY),
  maintenanceWindows,
  aws: z.optional(awsSchema),
  clusters: z.array(clusterSchema).check(
    z.minLength(1, 'list at least one cluster'),
    z.superRefine((clusters, ctx) => {
      const seen = new Set<string>();
      clusters.forEach((c, i) => {
        if (seen.has(c.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate cluster name "${c.name}"` });
        seen.add(c.name);
      });
    }),
  ),
});

/** One thing wrong with a configuration document: where (a key path) and what, in operator words. */
export interface ConfigIssue {
  path: PropertyKey[];
  message: string;
}

export type ConfigCheck =
  | { ok: true; config: z.output<typeof configSchema> }
  | { ok: false; issues: ConfigIssue[] };

/**
 * Validates a parsed document and returns every issue, each worded for an operator. Nothing of the
 * document's values is ever quoted: a message may end up in a terminal, a CI log or a ticket.
 */
export function checkConfig(document: unknown): ConfigCheck {
  const issues: ConfigIssue[] = credentialUrls(document);
  const result = configSchema.safeParse(document);
  if (!result.success) {
    for (const issue of result.error.issues) issues.push(...operatorIssues(issue, document));
  }
  if (issues.length > 0 || !result.success) return { ok: false, issues };
  const config = result.data;
  const kinds = kindProblems(config, longestGapMs(config.aws));
  if (kinds.length > 0) return { ok: false, issues: kinds };
  const needsAcme = config.clusters.some((c) =>
    [...Object.values(c.certificates), ...Object.values(c.databases)].some((cert) => cert.issuer === 'acme'),
  );
  const anyDns =
    config.dns !== undefined ||
    config.clusters.some(
      (c) =>
        c.dns !== undefined ||
        [...Object.values(c.certificates), ...Object.values(c.databases)].some(
          (cert) => cert.dns !== undefined,
        ),
    );
  if (needsAcme && (!config.acme || !anyDns)) {
    return {
      ok: false,
      issues: [
        { path: [], message: 'acme, dns: required when a cluster lists certificates renewed through ACME' },
      ],
    };
  }
  if (needsAcme) {
    const unserved = unservedDomains(config);
    if (unserved.length > 0) return { ok: false, issues: unserved };
  }
  return { ok: true, config };
}

/**
 * The longest time between two runs, for the internode renewal rule: aws.schedule in its time zone
 * (daylight saving included); without an aws section, the daily default a CLI's cron is expected
 * to match. An expression that does not measure is reported by the schedule checks (synth, check),
 * not here: 0.
 */
function longestGapMs(aws: z.output<typeof awsSchema> | undefined): number {
  try {
    return (
      measureSchedule(aws?.schedule ?? 'cron(0 6 * * ? *)', aws?.timeZone ?? 'UTC').maxGapWithDstSeconds *
      1000
    );
  } catch {
    return 0;
  }
}

/** Validates a parsed document. Relative paths are resolved against `baseDir`. */
export function parseConfig(document: unknown, baseDir = process.cwd()): z.output<typeof configSchema> {
  const checked = checkConfig(document);
  if (!checked.ok) throw invalidConfig(checked.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  return resolveConfigPaths(checked.config, baseDir);
}

/** The ConfigError for a list of issue lines (each already carrying its location). */
export function invalidConfig(lines: string[], where = ''): ConfigError {
  return new ConfigError(`invalid configuration${where}:\n${lines.map((l) => `  ${l}`).join('\n')}`, {
    hint: "fix each line above; config.example.json and the README's Configuration section show every field",
  });
}

/** The operator's words for a zod issue; an unknown key becomes one issue per key, at the key. */
function operatorIssues(issue: z.core.$ZodIssue, document: unknown): ConfigIssue[] {
  const path = [...issue.path];
  const value = valueAt(document, path);
  // A message that does not start like one of zod's defaults is our own (e.g. "must be an https:// URL").
  const own = !/^(Invalid|Too (small|big)|Unrecognized key|Expected)/.test(issue.message);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeys(path, document).filter((k) => !issue.keys.includes(k));
        const near = nearest(key, known);
        return {
          path: [...path, key],
          message: `unknown key${near ? `; did you mean "${near}"?` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`,
        };
      });
    case 'invalid_type':
      if (own) break;
      if (value.present === false) return [{ path, message: `is required${requiredHint(path)}` }];
      return [{ path, message: `must be ${article(issue.expected)} (it is ${describeValue(value.value)})` }];
    case 'too_small':
      if (own) break;
      return [
        { path, message: bound('at least', 'greater than', issue.origin, issue.minimum, issue.inclusive) },
      ];
    case 'too_big':
      if (own) break;
      return [{ path, message: bound('at most', 'less than', issue.origin, issue.maximum, issue.inclusive) }];
    case 'invalid_value':
      if (own) break;
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'invalid_union': {
      if (own) break;
      // A union of forms (`dns`: one provider, or a list of them): the form the value has speaks,
      // i.e. the option whose issues are not "this is not even my type" at the value itself.
      const branches = ((issue as { errors?: z.core.$ZodIssue[][] }).errors ?? []).filter(
        (branch) =>
          branch.length > 0 && !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (branches.length === 1)
        return (branches[0] as z.core.$ZodIssue[]).flatMap((sub) =>
          operatorIssues({ ...sub, path: [...path, ...sub.path] } as z.core.$ZodIssue, document),
        );
      const discriminator = (issue as { discriminator?: string }).discriminator;
      const options = discriminator ? constValues([...path.slice(0, -1)], discriminator, document) : [];
      return [
        {
          path,
          message: options.length
            ? `must be one of ${options.map((v) => JSON.stringify(v)).join(', ')}`
            : 'does not match any allowed form (see config.schema.json)',
        },
      ];
    }
    case 'invalid_format':
      if (own) break;
      return [{ path, message: `is not a valid ${issue.format}` }];
    case 'invalid_key': {
      if (own) break;
      // A record key our schema words (database uids, certificate names) says what is expected.
      const inner = (issue as { issues?: Array<{ message?: string }> }).issues?.[0]?.message;
      const worded = inner !== undefined && !/^(Invalid|Too (small|big)|Expected)/.test(inner);
      return [{ path, message: worded ? `invalid key: ${inner}` : 'has an invalid key' }];
    }
    default:
      break;
  }
  return [{ path, message: issue.message }];
}

function requiredHint(path: PropertyKey[]): string {
  if (path.length === 1 && path[0] === 'clusters')
    return ': list the clusters to watch (see config.example.json)';
  return '';
}

function bound(
  atLeast: string,
  strictly: string,
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
): string {
  const n = Number(limit);
  if (origin === 'array' || origin === 'set')
    return n === 1 && inclusive !== false
      ? 'must list at least one item'
      : `must list ${atLeast} ${n} item(s)`;
  if (origin === 'string')
    return n === 1 && atLeast === 'at least' ? 'must not be empty' : `must be ${atLeast} ${n} characters`;
  return `must be ${inclusive === false ? strictly : atLeast} ${n}`;
}

function article(expected: string): string {
  const words: Record<string, string> = {
    array: 'a list [...]',
    object: 'an object {...}',
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
  };
  return words[expected] ?? expected;
}

/** The kind of a value, never the value: it may be a secret. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return typeof value;
}

function valueAt(document: unknown, path: readonly PropertyKey[]): { present: boolean; value?: unknown } {
  let current: unknown = document;
  for (const part of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part as string))
      return { present: false };
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current === undefined ? { present: false } : { present: true, value: current };
}

/**
 * URLs with user information anywhere in the document: a password in a config file ends up in
 * backups, tickets and the deployed bundle. Only the location is reported, never the URL.
 */
function credentialUrls(document: unknown, path: PropertyKey[] = []): ConfigIssue[] {
  if (typeof document === 'string') {
    return hasUserInfo(document.trim()) || containsUserInfoUrl(document)
      ? [
          {
            path,
            message:
              'is or holds a URL with a user name or password in it; remove them from the URL and give the password through passwordEnv (locally) or a Secrets Manager secret',
          },
        ]
      : [];
  }
  if (Array.isArray(document)) return document.flatMap((v, i) => credentialUrls(v, [...path, i]));
  if (document !== null && typeof document === 'object')
    return Object.entries(document).flatMap(([k, v]) => credentialUrls(v, [...path, k]));
  return [];
}

// --- What the schema allows at a path, read from its JSON Schema (for "did you mean") ---------------

type JsonSchemaNode = {
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  const?: unknown;
};

let inputSchema: JsonSchemaNode | undefined;

function schemaNodesAt(path: readonly PropertyKey[]): JsonSchemaNode[] {
  inputSchema ??= z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const expand = (node: JsonSchemaNode): JsonSchemaNode[] => [
    node,
    ...(node.anyOf ?? []).flatMap(expand),
    ...(node.oneOf ?? []).flatMap(expand),
  ];
  let nodes = expand(inputSchema);
  for (const part of path) {
    nodes = nodes.flatMap((node) => {
      if (typeof part === 'number') return node.items ? expand(node.items) : [];
      const named = node.properties?.[String(part)];
      if (named) return expand(named);
      return typeof node.additionalProperties === 'object' ? expand(node.additionalProperties) : [];
    });
  }
  return nodes;
}

function knownKeys(path: readonly PropertyKey[], _document: unknown): string[] {
  const keys = new Set<string>();
  for (const node of schemaNodesAt(path)) for (const key of Object.keys(node.properties ?? {})) keys.add(key);
  keys.delete('$schema');
  return [...keys];
}

function constValues(path: readonly PropertyKey[], property: string, _document: unknown): string[] {
  const values = new Set<string>();
  for (const node of schemaNodesAt(path)) {
    const value = node.properties?.[property]?.const;
    if (typeof value === 'string') values.add(value);
  }
  return [...values];
}

/** The candidate closest to `word` (case-insensitive edit distance), if close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  // Damerau-Levenshtein (optimal string alignment): a swapped pair of letters is one typo.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
}

/** A key path as an operator reads it: `clusters[0].endpoint`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
    .join('');
}
