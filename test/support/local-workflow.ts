/**
 * Runs the state machine that CDK synthesizes, locally (aws-local-stepfunctions), with every Lambda
 * task invoking THE BUNDLE `cdk synth` builds for that function (./lambda/bundles.ts): each
 * invocation a fresh Node 24 process, as a cold start, with exactly the function's Environment from
 * the template plus what points its SDK at loopback (./lambda/invoke.ts). The config reaches it as
 * on AWS: the deployed config file (lib/bundled-config.ts) beside the bundle.
 *
 * The AWS services the bundles call are loopback stand-ins (./aws/): Secrets Manager (state,
 * cluster credentials, CA keys), the Parameters and Secrets extension, SNS (alerts are collected
 * from the topic), Route 53 (TXT changes forwarded to pebble-challtestsrv through the world's DNS
 * bridge) and AWS Private CA. They enforce each function role's synthesized IAM policies: an
 * execution in which any call was denied rejects, unless `allowAccessDenied`.
 *
 * One loopback account per world, shared by every workflow on it (state survives from one
 * execution, or workflow, to the next); each workflow is one deployment with its own identities.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { vi } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import { SecretsManagerStore } from '../../lambdas/adapters/secrets-manager/secret-store';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { Alert, Notifier } from '../../lambdas/domain/ports';
import { StateStore } from '../../lambdas/domain/state';
import type { CheckEvent } from '../../lambdas/handlers/events';
import { writeBundledConfig } from '../../lib/bundled-config';
import { STATE_NAMES } from '../../lib/workflow';
import {
  type AwsCall,
  type AwsPrincipal,
  type PrivateCaBackend,
  startWatchdogAws,
  type WatchdogAws,
} from './aws';
import { BUNDLE_FILES, lambdaBundles } from './lambda/bundles';
import { type DeployedFunction, describeDeployment } from './lambda/deployment';
import { invokeLambda } from './lambda/invoke';
import type { AslState } from './synthesized-definition';
import { type FunctionRole, type SynthesizedWatchdog, synthesizeWatchdog } from './synthesized-definition';
import type { World } from './world';

export interface LocalWorkflow {
  /** Every alert the notify function published to the topic (unless `notifier` takes them). */
  alerts: Alert[];
  /** Every task invocation, in order: the state, its input, the error it ended with, its logs. */
  calls: TaskCall[];
  /** The event log of the last execution (StateEntered, StateRetried, StateCaught, ...). */
  events: EventLog[];
  /** The state store the functions use (Secrets Manager on loopback), read and written as the test. */
  state: StateStore;
  /** Runs one execution to its end and returns its output; rejects when the execution fails. */
  execute(input?: CheckEvent): Promise<unknown>;
  /** The loopback AWS account (shared by every workflow of the world). */
  aws: WatchdogAws;
  /** Every IAM decision made for this deployment's functions, in order. */
  readonly awsCalls: AwsCall[];
  /** The identity a function of this deployment calls AWS with (its role's policies). */
  principal(role: FunctionRole): AwsPrincipal;
  /** The deployment as synthesized: functions, environments, policies. */
  deployment: ReturnType<typeof describeDeployment>;
}

/** One entry of an execution's event log (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface TaskCall {
  state: string;
  input: unknown;
  /** The error the task failed with: Lambda's errorType (the error's name) or an injected one. */
  error?: string;
  /** The function's stdout and stderr. */
  logs?: string;
}

/**
 * The same config as the CLI's, made deployable: a credentials secret per cluster (with the
 * cluster's CA), Route 53, local CA keys and the EAB key in secrets (the loopback Secrets Manager
 * holds what the files held).
 */
export function asDeployedConfig(config: WatchdogConfig): WatchdogConfig {
  const eab = config.acme?.eab;
  return {
    ...config,
    ...(config.acme && eab
      ? {
          acme: {
            ...config.acme,
            eab: { kid: eab.kid, hmacKeySecret: EAB_SECRET },
          },
        }
      : {}),
    dns: deployedDns(config.dns),
    // As deployed: the cluster's own CA travels in its credentials secret (`caPem`), not in the bundle.
    clusters: config.clusters.map(({ password: _p, passwordEnv: _e, caFile: _ca, ...c }) => ({
      ...c,
      credentialsSecret: clusterSecret(c.name),
      // A CA key never ships in the bundle: the deployment reads it from a secret.
      ...(c.certificates && {
        certificates: Object.fromEntries(
          Object.entries(c.certificates).map(([name, settings]) => [
            name,
            { ...settings, issuer: deployedIssuer(settings.issuer, caKeySecret(c.name, name)) },
          ]),
        ),
      }),
      // RS 8.x: database issuers' CA keys and the client certificate's key are secrets too.
      ...(c.databases && {
        databases: Object.fromEntries(
          Object.entries(c.databases).map(([uid, settings]) => [
            uid,
            { ...settings, issuer: deployedIssuer(settings.issuer, caKeySecret(c.name, `bdb-${uid}`)) },
          ]),
        ),
      }),
      ...(c.clientCertificate && {
        clientCertificate: deployedClientCertificate(c.name, c.clientCertificate),
      }),
    })),
  } as WatchdogConfig;
}

/**
 * The world's httpreq bridge becomes Route 53 (the loopback Route 53 forwards its TXT changes to the
 * bridge), keeping the resolvers the propagation check asks; any other provider (RFC 2136 with its
 * TSIG secret in Secrets Manager) is deployed as it is.
 */
function deployedDns(dns: WatchdogConfig['dns']): WatchdogConfig['dns'] {
  if (dns === undefined || Array.isArray(dns) || dns.provider !== 'httpreq') return dns;
  return {
    provider: 'route53',
    hostedZoneId: 'Z0TEST',
    privateZone: false,
    followCnames: dns.followCnames,
    propagationTimeoutSeconds: dns.propagationTimeoutSeconds,
    ...(dns.resolvers ? { resolvers: dns.resolvers } : {}),
  } as WatchdogConfig['dns'];
}

type IssuerSetting = WatchdogConfig['clusters'][number]['certificates'][string]['issuer'];
type ClientCertificateSetting = NonNullable<WatchdogConfig['clusters'][number]['clientCertificate']>;

function deployedIssuer<I extends IssuerSetting | undefined>(issuer: I, secret: string): I {
  if (typeof issuer !== 'object' || issuer.type !== 'local-ca' || issuer.keyFile === undefined) return issuer;
  const { keyFile: _k, ...rest } = issuer;
  return { ...rest, keySecret: secret } as I;
}

function deployedClientCertificate(
  cluster: string,
  client: ClientCertificateSetting,
): ClientCertificateSetting {
  const { keyFile: _k, ...rest } = client;
  return {
    ...rest,
    ...(client.keyFile !== undefined ? { keySecret: clientKeySecret(cluster) } : {}),
    ...(client.issuer ? { issuer: deployedIssuer(client.issuer, caKeySecret(cluster, 'client')) } : {}),
  };
}

const EAB_SECRET = 'acme/eab-hmac-key';
const clusterSecret = (cluster: string) => `rs/${cluster}`;
const caKeySecret = (cluster: string, certificate: string) => `ca/${cluster}/${certificate}`;
const clientKeySecret = (cluster: string) => `rs/${cluster}/client-key`;

export interface LocalWorkflowOptions {
  /**
   * Makes a task's process die once its handler has finished, before it answers (the work is done,
   * e.g. the PUT went through): the task fails with `Lambda.Unknown`, this many times.
   */
  crash?: { state: string; times: number };
  /**
   * Makes a task fail with this error instead of invoking the function, `times` times: a Lambda
   * service error such as `Lambda.ServiceException`, or a step failing.
   */
  throws?: Array<{ state: string; error: { name: string; message: string }; times: number }>;
  /**
   * Receives every alert the notify function publishes to the topic, instead of `alerts`; when it
   * throws, SNS refuses that publish (the function sees the error, as from a refusing endpoint).
   */
  notifier?: Notifier;
  /** What AWS Private CA answers this deployment's issue function (default: signs at once with a test CA). */
  pca?: PrivateCaBackend;
  /** Retry interval overrides (milliseconds) by state, over the defaults below. */
  retryIntervalOverrides?: Record<string, number>;
  /** Let an execution in which AWS denied a call succeed (a test of the denial itself). */
  allowAccessDenied?: boolean;
}

const accounts = new WeakMap<World, Promise<WatchdogAws>>();

/** The world's loopback AWS account, started on first use and stopped with the world. */
export function watchdogAwsOf(world: World): Promise<WatchdogAws> {
  let account = accounts.get(world);
  if (!account) {
    account = startWatchdogAws();
    accounts.set(world, account);
    const started = account;
    world.onClose(async () => (await started).close());
  }
  return account;
}

/** The state store of the world's deployments, as the test reads it. */
export async function workflowState(world: World): Promise<StateStore> {
  const aws = await watchdogAwsOf(world);
  return stateStoreOf(aws, STATE_PREFIX_OF_TEST_STACK);
}

/** lib/certificate-watchdog.ts: `rs-cert-watchdog/<stack name>` (synthesized-definition's stack). */
const STATE_PREFIX_OF_TEST_STACK = 'rs-cert-watchdog/RsCertWatchdog';

function stateStoreOf(aws: WatchdogAws, prefix: string): StateStore {
  return new StateStore(
    new SecretsManagerStore({ prefix, kmsKeyId: aws.keyArn, client: aws.testSecretsClient() }),
  );
}

export async function localWorkflow(
  world: World,
  configPath: string,
  options: LocalWorkflowOptions = {},
): Promise<LocalWorkflow> {
  const config = loadConfig(configPath);
  const deployedConfig = asDeployedConfig(config);
  const aws = await watchdogAwsOf(world);
  const deployment = describeDeployment(synthesized(deployedConfig), aws.keyArn);
  const id = `d${randomUUID().slice(0, 8)}`;
  const functions = Object.values(deployment.functions) as DeployedFunction[];
  const principals = new Map<FunctionRole, AwsPrincipal>(
    functions.map((f) => [f.role, aws.aws.addPrincipal(id, f.role, f.statements)]),
  );

  // What the stack creates, and what the operator put in Secrets Manager before deploying.
  aws.sns.createTopic(deployment.topicArn, { kmsKeyArn: deployment.keyArn });
  const dns = deployedConfig.dns;
  if (dns && !Array.isArray(dns) && dns.provider === 'route53' && dns.hostedZoneId)
    aws.route53.createHostedZone(dns.hostedZoneId, async ({ name, type, before, after }) => {
      if (type !== 'TXT' || !world.bridge) return;
      const unquote = (v: string) => v.replace(/^"|"$/g, '');
      for (const value of after.filter((v) => !before.includes(v)))
        await bridgeCall(world.bridge.url, 'present', name, unquote(value));
      for (const value of before.filter((v) => !after.includes(v)))
        await bridgeCall(world.bridge.url, 'cleanup', name, unquote(value));
    });
  if (options.pca) aws.acmPca.setBackend(id, options.pca);
  const seededClientKeys = new Set<string>();
  const seedSecrets = () => {
    for (const cluster of config.clusters) {
      const password = cluster.password ?? (cluster.passwordEnv ? world.env[cluster.passwordEnv] : undefined);
      const caPem = cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined;
      aws.secretsManager.seed(
        clusterSecret(cluster.name),
        JSON.stringify({ username: cluster.username, password, ...(caPem ? { caPem } : {}) }),
      );
      const issuers: Array<[string, IssuerSetting | undefined]> = [
        ...Object.entries(cluster.certificates ?? {}).map(([name, s]): [string, IssuerSetting] => [
          name,
          s.issuer,
        ]),
        ...Object.entries(cluster.databases ?? {}).map(([uid, s]): [string, IssuerSetting] => [
          `bdb-${uid}`,
          s.issuer,
        ]),
        ['client', cluster.clientCertificate?.issuer],
      ];
      for (const [name, issuer] of issuers) {
        if (typeof issuer === 'object' && issuer.type === 'local-ca' && issuer.keyFile)
          aws.secretsManager.seed(caKeySecret(cluster.name, name), readFileSync(issuer.keyFile, 'utf8'));
      }
      // The client certificate's key, as the operator stores it (the PEM; a renewal writes a new version).
      const clientKey = cluster.clientCertificate?.keyFile;
      if (clientKey && !seededClientKeys.has(cluster.name)) {
        seededClientKeys.add(cluster.name);
        aws.secretsManager.seed(clientKeySecret(cluster.name), readFileSync(clientKey, 'utf8'));
      }
    }
    const eab = config.acme?.eab;
    const hmacKey = eab?.hmacKey ?? (eab?.hmacKeyEnv ? world.env[eab.hmacKeyEnv] : undefined);
    if (hmacKey) aws.secretsManager.seed(EAB_SECRET, hmacKey);
  };

  // The bundles, each with the deployed config beside it, in a directory that stands for /var/task.
  const bundles = lambdaBundles();
  const configDir = writeBundledConfig(deployedConfig);
  const taskRoots = new Map<FunctionRole, string>();
  for (const fn of functions) {
    const bundle = bundles.entries[fn.entry];
    if (!bundle) throw new Error(`no bundle for ${fn.entry} (test/support/lambda/bundles.ts builds them)`);
    const root = join(world.dir, 'lambda', id, fn.role);
    mkdirSync(root, { recursive: true });
    for (const file of BUNDLE_FILES) copyFileSync(join(bundle, file), join(root, file));
    if (fn.role !== 'slackForwarder') cpSync(configDir, root, { recursive: true });
    taskRoots.set(fn.role, root);
  }

  const alerts: Alert[] = [];
  aws.sns.subscribe(async (published) => {
    if (published.principal.deployment !== id || published.topicArn !== deployment.topicArn) return;
    const { severity: _s, ...alert } = JSON.parse(
      (JSON.parse(published.message) as { lambda: string }).lambda,
    ) as Alert & { severity?: string };
    if (options.notifier) await options.notifier.send(alert as Alert);
    else alerts.push(alert as Alert);
  });

  const crash = options.crash ? { ...options.crash } : undefined;
  const throws = (options.throws ?? []).map((t) => ({ ...t }));
  const calls: TaskCall[] = [];
  const invoke = (state: string, fn: DeployedFunction) => async (input: unknown) => {
    const call: TaskCall = { state, input: JSON.parse(JSON.stringify(input)) };
    calls.push(call);
    const injected = throws.find((t) => t.state === state && t.times > 0);
    if (injected) {
      injected.times--;
      call.error = injected.error.name;
      throw Object.assign(new Error(injected.error.message), { name: injected.error.name });
    }
    const dies = crash !== undefined && crash.state === state && crash.times > 0;
    if (dies) crash.times--;
    const principal = principals.get(fn.role) as AwsPrincipal;
    const outcome = await invokeLambda({
      taskRoot: taskRoots.get(fn.role) as string,
      handler: fn.handler,
      functionName: `rs-cert-watchdog-${fn.role}`,
      memoryMb: fn.memoryMb,
      timeoutMs: fn.timeoutMs,
      environment: {
        ...fn.environment,
        ...aws.aws.endpointEnvironment(principal),
        ...(fn.environment.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT
          ? { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(aws.extension.port) }
          : {}),
      },
      event: input,
      dieAfterHandler: dies,
    });
    call.logs = outcome.logs;
    if (outcome.ok) return outcome.payload;
    call.error = outcome.error.errorType;
    // As Step Functions shapes a Lambda error: Error is its errorType, Cause the whole error payload.
    throw Object.assign(new Error(JSON.stringify(outcome.error)), { name: outcome.error.errorType });
  };

  const roleOfArn = new Map(functions.map((f) => [f.arn, f]));
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const addTasks = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      const fn = state.Type === 'Task' && state.Resource ? roleOfArn.get(state.Resource) : undefined;
      if (fn) handlers[name] = invoke(name, fn);
      if (state.ItemProcessor) addTasks(state.ItemProcessor.States);
    }
  };
  addTasks(deployment.definition.States);

  const machine = new StateMachine(deployment.definition as unknown as StateMachineDefinition, {
    validationOptions: { checkPaths: true, checkArn: false },
  });
  const events: EventLog[] = [];
  const prefix = deployment.functions.issue?.environment.STATE_SECRET_PREFIX ?? STATE_PREFIX_OF_TEST_STACK;
  return {
    alerts,
    calls,
    events,
    state: stateStoreOf(aws, prefix),
    aws,
    deployment,
    get awsCalls() {
      return aws.aws.calls.filter((c) => c.deployment === id);
    },
    principal(role) {
      const principal = principals.get(role);
      if (!principal) throw new Error(`this deployment has no ${role} function`);
      return principal;
    },
    async execute(input: CheckEvent = {}) {
      events.length = 0;
      seedSecrets();
      const from = aws.aws.calls.length;
      // The context object Step Functions gives every execution: the Map names the execution as the
      // holder of its certificates' locks.
      const executionId = `arn:aws:states:us-east-1:123456789012:execution:RsCertWatchdog:${randomUUID()}`;
      const execution = machine.run(input as never, {
        context: { Execution: { Id: executionId, Name: executionId.split(':').pop() } } as never,
        overrides: {
          taskResourceLocalHandlers: handlers as never,
          // The Retry numbers are asserted in the template tests; here only their behaviour matters.
          // Lock retries wait long enough for another execution's order.
          retryIntervalOverrides: {
            [STATE_NAMES.push]: 10,
            [STATE_NAMES.issue]: 700,
            ...options.retryIntervalOverrides,
          },
        },
      });
      const logged = (async () => {
        for await (const event of execution.eventLogs) events.push(event);
      })();
      let output: unknown;
      let failure: unknown;
      try {
        output = await execution.result;
      } catch (error) {
        failure = error;
      } finally {
        await logged.catch(() => undefined);
      }
      const denied = aws.aws.calls.slice(from).filter((c) => c.deployment === id && c.decision !== 'allowed');
      if (denied.length > 0 && !options.allowAccessDenied) {
        throw new Error(
          `AWS denied ${denied.length} call(s) of the functions (their synthesized IAM policies do not allow them):\n${denied
            .map((c) => `  ${c.role}: ${c.action} on ${c.resource}${c.via ? ` (via ${c.via})` : ''}`)
            .join('\n')}`,
          { cause: failure },
        );
      }
      if (failure !== undefined) throw failure;
      return output;
    },
  };
}

const synths = new Map<string, SynthesizedWatchdog>();

/** One synth per distinct deployed config in this process (a synth takes seconds). */
function synthesized(config: WatchdogConfig): SynthesizedWatchdog {
  const key = JSON.stringify(config);
  let synth = synths.get(key);
  if (!synth) {
    synth = synthesizeWatchdog(config);
    synths.set(key, synth);
  }
  return synth;
}

// Every task is a process (six to eight per execution, up to three executions per test): on a
// machine shared with other test runs that takes longer than the default 60 s. A safety net for the
// files that execute the bundles, never a measure: no assertion depends on time.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

// The first synth of a process loads and compiles most of aws-cdk-lib: tens of seconds on a busy
// machine. Done while a test file is collected, not inside its first test's timeout.
synthesizeWatchdog(
  asDeployedConfig({
    renewBeforeDays: 30,
    stateDir: '.rs-cert-watchdog',
    concurrency: 8,
    alerts: { emails: [] },
    pushRetry: { maxAttempts: 1, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 1, jitter: 'FULL' },
    clusters: [{ name: 'warm-up', endpoint: 'https://127.0.0.1:9443', username: 'u', certificates: {} }],
  } as unknown as WatchdogConfig),
);

async function bridgeCall(
  url: string,
  op: 'present' | 'cleanup',
  fqdn: string,
  value: string,
): Promise<void> {
  // Route 53 itself never fails a change for the record's sake: a refusing bridge leaves the record
  // unpublished, which the CA's validation then finds.
  await fetch(`${url}/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fqdn, value }),
    signal: AbortSignal.timeout(15_000),
  }).catch(() => undefined);
}
