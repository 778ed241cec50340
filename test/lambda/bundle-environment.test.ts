/**
 * Issue 18, item 15 (a): every environment variable a Lambda bundle reads is set for that function.
 * The bundles are the ones `cdk synth` builds (test/support/lambda/bundles.ts); the reads are found
 * in their text and attributed to a source file through their source maps. The product's own reads
 * must be set by the construct (the function's Environment in the template) or by the Lambda
 * runtime; a dependency's must be one of those, or an optional setting listed below with the
 * default that applies when it is unset. A read whose name is not in the text (`process.env[x]`,
 * or the environment object handed on) is allowed only where listed, with the reason.
 */
import type { CfnElement } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { entryOfDescription, lambdaBundles } from '../support/lambda/bundles';
import { environmentReads } from '../support/lambda/environment-reads';
import { type FunctionRole, synthesizeWatchdog } from '../support/synthesized-definition';

/** What Lambda sets in every Node.js function's environment (AWS Lambda, "Defined runtime environment variables"). */
const LAMBDA_RUNTIME = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);

/** Dependencies' optional settings, unset in the deployment, and what applies then. */
const OPTIONAL_DEPENDENCY_SETTINGS: Record<string, string> = {
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'the SDK warns on an old Node (not Lambda’s 24)',
  AWS_EC2_METADATA_SERVICE_ENDPOINT:
    'EC2 metadata credentials: never reached, Lambda gives credentials in the environment',
  AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: 'as above',
  AWS_LAMBDA_BENCHMARK_MODE: 'the SDK’s invoke store: off',
  AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: 'the SDK’s invoke store keeps its global',
  AWS_LAMBDA_MAX_CONCURRENCY: 'set by Lambda only for multi-concurrency runtimes: one invocation at a time',
  AWS_LOGIN_CACHE_DIRECTORY: 'the SDK’s console-login credentials: never reached',
  AWS_SDK_UA_APP_ID: 'no app id in the SDK’s user agent',
  POWERTOOLS_METRICS_DISABLED: 'metrics on',
  DEBUG: 'the `debug` package (axios, in acme-client) logs nothing',
  NO_PROXY: 'no proxy',
  no_proxy: 'no proxy',
};

/** Packages that read variables by a computed name: the SDK's config loaders and credential chain, Powertools' env helpers, `debug`, axios' proxy lookup. */
const DYNAMIC_DEPENDENCY_READS = [
  'node_modules/@aws-sdk/',
  'node_modules/@smithy/',
  'node_modules/@aws-lambda-powertools/',
  'node_modules/debug/',
  'node_modules/axios/',
];

/** Settings the product reads as the AWS SDK does, unset on Lambda (each with what it changes). */
const OPTIONAL_PRODUCT_SETTINGS: Record<string, string> = {
  AWS_ENDPOINT_URL_DYNAMODB:
    "adapters/dynamodb (no SDK) honours the SDK's endpoint override: unset, it is the region's endpoint",
  AWS_ENDPOINT_URL_S3:
    "adapters/s3 (no SDK) honours the SDK's endpoint override, path-style: unset, it is the bucket's regional endpoint",
  AWS_ENDPOINT_URL: 'as above, for every service',
};

/** The product's own reads by a computed name, each with why it cannot be literal and why it is safe. */
const DYNAMIC_PRODUCT_READS: Record<string, string> = {
  'lambdas/adapters/exec/index.ts':
    "the exec DNS hook hands its whole environment to the operator's script (no name is read); AWS mode refuses the exec provider at synth (lib/bundled-config.ts assertDeployable)",
  'lambdas/adapters/acme/issuer.ts':
    'acme.eab.hmacKeyEnv names the variable; AWS mode refuses it at synth (lib/bundled-config.ts assertDeployable) for hmacKeySecret',
};

const example = loadConfig(new URL('../../config.example.json', import.meta.url).pathname);
/** Between them, every handler entry: the example's foreign-region secret makes check-any-region. */
const CONFIGS: Record<string, WatchdogConfig> = {
  'config.example.json': example,
  'secrets by name, a Slack webhook': {
    ...example,
    alerts: { ...example.alerts, slackWebhookSecret: 'rs-cert-watchdog/slack' },
    clusters: example.clusters.map((c) => ({
      ...c,
      credentialsSecret: `rs-cert-watchdog/clusters/${c.name}`,
    })),
  },
};

describe('every environment variable a bundle reads is set for its function', () => {
  const bundles = lambdaBundles();
  const covered = new Set<string>();

  for (const [label, config] of Object.entries(CONFIGS)) {
    it(`the functions of a deployment of ${label}`, () => {
      const { stack, template } = synthesizeWatchdog(config);
      const resources = template.toJSON().Resources as Record<
        string,
        { Properties: { Description: string; Environment?: { Variables: Record<string, unknown> } } }
      >;
      const problems: string[] = [];
      for (const [role, fn] of Object.entries(stack.watchdog.functions) as [FunctionRole, NodejsFunction][]) {
        const properties = resources[logicalIdOf(fn.node.defaultChild as CfnElement)]?.Properties;
        const entry = entryOfDescription(properties?.Description ?? '');
        const dir = bundles.entries[entry];
        expect(dir, `the bundle of ${entry}`).toBeDefined();
        covered.add(entry);
        const set = new Set(Object.keys(properties?.Environment?.Variables ?? {}));
        const reads = environmentReads(dir as string);
        expect(
          reads.some((r) => r.source.startsWith('lambdas/')),
          `${entry} reads no variable of its own?`,
        ).toBe(true);
        for (const { name, source } of reads) {
          const product = source.startsWith('lambdas/');
          if (name === undefined) {
            const allowed = product
              ? source in DYNAMIC_PRODUCT_READS
              : DYNAMIC_DEPENDENCY_READS.some((p) => source.startsWith(p));
            if (!allowed) problems.push(`${role} (${entry}): ${source} reads a variable by a computed name`);
            continue;
          }
          if (set.has(name) || LAMBDA_RUNTIME.has(name)) continue;
          if (!product && name in OPTIONAL_DEPENDENCY_SETTINGS) continue;
          if (product && name in OPTIONAL_PRODUCT_SETTINGS) continue;
          problems.push(
            `${role} (${entry}): ${source} reads ${name}, which the construct does not set for it`,
          );
        }
      }
      expect(problems).toEqual([]);
    });
  }

  it('covers every bundle the synth builds', () => {
    expect([...covered].sort()).toEqual(Object.keys(bundles.entries).sort());
  });
});

describe('the scan finds what the product reads', () => {
  it('names each literal read of the check function and attributes it to its source', () => {
    const reads = environmentReads(lambdaBundles().entries['check.ts'] as string).filter((r) =>
      r.source.startsWith('lambdas/'),
    );
    expect(reads).toEqual(
      expect.arrayContaining([
        { name: 'STATE_TABLE_NAME', source: 'lambdas/wiring/state.ts' },
        {
          name: 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
          source: 'lambdas/adapters/secrets-extension/credentials.ts',
        },
        { name: 'AWS_SESSION_TOKEN', source: 'lambdas/adapters/secrets-extension/credentials.ts' },
      ]),
    );
    // requiredEnv reads by the literal its caller passes: no computed read left in the product's wiring.
    expect(reads.filter((r) => r.name === undefined)).toEqual([]);
  });

  it('finds the computed reads of the issue function: the EAB key variable and the exec hook environment of the local config', () => {
    const reads = environmentReads(lambdaBundles().entries['issue.ts'] as string).filter(
      (r) => r.source.startsWith('lambdas/') && r.name === undefined,
    );
    expect(reads.map((r) => r.source).sort()).toEqual(Object.keys(DYNAMIC_PRODUCT_READS).sort());
  });
});
