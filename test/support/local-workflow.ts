/**
 * Runs the state machine that CDK synthesizes, locally (aws-local-stepfunctions), with every Lambda
 * task invoking THE BUNDLE `cdk synth` builds for that function (./lambda/bundles.ts): each
 * invocation a fresh Node 24 process, as a cold start, with exactly the function's Environment from
 * the template plus what points its SDK at loopback (./lambda/invoke.ts). The config reaches it as
 * on AWS: the deployed config file (lib/bundled-config.ts) beside the bundle.
 *
 * The AWS services the bundles call are loopback stand-ins (./aws/): DynamoDB (the state table, on
 * dynalite) and KMS (the keys sealed in it), Secrets Manager (cluster credentials, CA keys, the
 * state of version 0.1 that MigrateState moves), the Parameters and Secrets extension, SNS (alerts
 * are collected from the topic), Route 53 (TXT changes forwarded to pebble-challtestsrv through the world's DNS
 * bridge) and AWS Private CA. They enforce each function role's synthesized IAM policies: an
 * execution in which any call was denied rejects, unless `allowAccessDenied`.
 *
 * One loopback account per world, shared by every workflow on it (state survives from one
 * execution, or workflow, to the next); each workflow is one deployment with its own identities.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { RunDigest } from '../../lambdas/domain/digest';
import type { Alert, Notifier } from '../../lambdas/domain/ports';
import type { ClusterBatch } from '../../lambdas/domain/renewal/steps';
import { type ClusterReport, summarizeCluster } from '../../lambdas/domain/report';
import { CLUSTER_LIST_KEY, clusterList, runKeys } from '../../lambdas/domain/run/objects';
import type { StateStore } from '../../lambdas/domain/state';
import type { CheckEvent, CheckResult, RunSummary } from '../../lambdas/handlers/events';
import { writeBundledConfig } from '../../lib/bundled-config';
import { STATE_NAMES } from '../../lib/workflow';
import {
  type AwsCall,
  type AwsPrincipal,
  type PrivateCaBackend,
  startWatchdogAws,
  type WatchdogAws,
} from './aws';
import {
  type ChildRun,
  type EventLog,
  type MapRunRecord,
  runLocalExecution,
  withDistributedMaps,
} from './distributed-map';
import { BUNDLE_FILES, lambdaBundles } from './lambda/bundles';
import { type DeployedFunction, describeDeployment } from './lambda/deployment';
import { invokeLambda } from './lambda/invoke';
import type { StateBackend } from './state-backend';
import type { AslState, AslStateMachine } from './synthesized-definition';
import { type FunctionRole, type SynthesizedWatchdog, synthesizeWatchdog } from './synthesized-definition';
import type { World } from './world';

export interface LocalWorkflow {
  /**
   * Every alert of each run that published its digest: the run's full list (`alerts.json` in the
   * report bucket, which the digest summarises and links), findings first, then the outcomes.
   */
  alerts: Alert[];
  /** The alerts published on their own, at once (unless `notifier` takes them): failures, expired certificates. */
  immediate: Alert[];
  /** Every run's digest, as published to the topic. */
  digests: RunDigest[];
  /** Every Distributed Map run played (test/support/distributed-map.ts), in order. */
  mapRuns: MapRunRecord[];
  /** Each execution of the last `execute` (the parent, then every child), with its event count. */
  executions: Array<{ name: string; state?: string; events: number; status: string }>;
  /** The report bucket's name, and the objects in it as the test reads them. */
  reportBucket: string;
  object(key: string): string | undefined;
  /**
   * What the last execution's check found, as a whole-fleet check answers it (CheckResult), read
   * from the run's objects in the report bucket (Gather's or PlanRollback's summary names them).
   */
  checked(): CheckResult & { summary: RunSummary };
  /** Every key in the report bucket (this world's deployments share it, as one stack's runs do). */
  objectKeys(prefix?: string): string[];
  /** Every task invocation, in order: the state, its input, the error it ended with, its logs. */
  calls: TaskCall[];
  /** The event logs of the last execution and of its child executions (StateEntered, StateRetried, ...). */
  events: EventLog[];
  /** The state the functions use (the deployment's table, keys sealed by the account's KMS), as the test reads and writes it. */
  state: StateStore;
  /** The loopback DynamoDB and KMS of the world (calls, faults), and the deployment's table. */
  backend: StateBackend;
  table: string;
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

export type { EventLog };

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
   * e.g. the PUT went through): the task fails with `Lambda.Unknown` (or `error`, e.g.
   * `Lambda.ServiceException`, which the task's Retry retries), this many times.
   */
  crash?: { state: string; times: number; error?: string };
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

/** The state of the world's deployments (they share one table, as one stack would), as the test reads it. */
export async function workflowState(world: World): Promise<StateStore> {
  const aws = await watchdogAwsOf(world);
  await aws.state.createTable(STATE_TABLE_OF_TEST_STACK);
  return aws.state.store(STATE_TABLE_OF_TEST_STACK);
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
  const table = deployment.functions.issue?.environment.STATE_TABLE_NAME ?? STATE_TABLE_OF_TEST_STACK;
  await aws.state.createTable(table);
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
  const immediate: Alert[] = [];
  const digests: RunDigest[] = [];
  aws.sns.subscribe(async (published) => {
    if (published.principal.deployment !== id || published.topicArn !== deployment.topicArn) return;
    const structured = JSON.parse((JSON.parse(published.message) as { lambda: string }).lambda) as
      | (Alert & { severity?: string })
      | RunDigest;
    if (structured.kind === 'digest') {
      digests.push(structured as RunDigest);
      // What the digest summarises: the run's full list, written beside its report before it was sent.
      const list = aws.s3.getObject(deployment.reportBucket, runKeys(String(structured.run)).alerts);
      if (!list) throw new Error(`the digest of ${structured.run} was sent without its alerts.json`);
      alerts.push(...(JSON.parse(list.toString('utf8')) as Alert[]));
      return;
    }
    const { severity: _s, ...alert } = structured as Alert & { severity?: string };
    if (options.notifier) await options.notifier.send(alert as Alert);
    else immediate.push(alert as Alert);
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
    if (dies && crash?.error && !outcome.ok) outcome.error.errorType = crash.error;
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

  // The state machine's own role: the Distributed Maps' ItemReader and ResultWriter use it.
  const machinePrincipal = aws.aws.addPrincipal(id, 'stateMachine', deployment.stateMachine.statements);
  const asMachine = (action: string, bucket: string, key: string) => {
    aws.aws.authorize(machinePrincipal, { service: 's3', action, resource: `arn:aws:s3:::${bucket}/${key}` });
    aws.aws.authorize(
      machinePrincipal,
      {
        service: 'kms',
        action: action === 's3:GetObject' ? 'kms:Decrypt' : 'kms:GenerateDataKey',
        resource: deployment.keyArn,
        context: { 'kms:ViaService': `s3.${aws.aws.region}.amazonaws.com` },
      },
      { via: 's3' },
    );
  };
  if (!aws.s3.hasBucket(deployment.reportBucket))
    aws.s3.createBucket(deployment.reportBucket, { kmsKeyArn: deployment.keyArn, bucketKeyEnabled: true });
  const events: EventLog[] = [];
  const executions: LocalWorkflow['executions'] = [];
  const mapRuns: MapRunRecord[] = [];
  const retryIntervalOverrides = {
    // The Retry numbers are asserted in the template tests; here only their behaviour matters.
    // Lock retries wait long enough for another execution's order.
    [STATE_NAMES.push]: 10,
    [STATE_NAMES.issue]: 700,
    ...options.retryIntervalOverrides,
  };
  /** Runs one execution of a definition to its end, its events into `events`. */
  const runExecution = async (
    definition: AslStateMachine,
    input: unknown,
    executionId: string,
    taskHandlers: Record<string, (input: unknown) => Promise<unknown>>,
    state?: string,
  ): Promise<ChildRun> => {
    const record = { name: executionId, ...(state ? { state } : {}), events: 0, status: 'RUNNING' };
    executions.push(record);
    const run = await runLocalExecution(definition, input, {
      executionId,
      handlers: taskHandlers,
      retryIntervalOverrides,
      onEvent: (event) => events.push(event),
    });
    record.status = run.status;
    record.events = run.events;
    return run;
  };
  const played = withDistributedMaps(deployment.definition, {
    s3: {
      read(bucket, key) {
        asMachine('s3:GetObject', bucket, key);
        const body = aws.s3.getObject(bucket, key);
        if (!body)
          throw Object.assign(new Error(`s3://${bucket}/${key}: NoSuchKey`), {
            name: 'States.ItemReaderFailed',
          });
        return body.toString('utf8');
      },
      write(bucket, key, body) {
        asMachine('s3:PutObject', bucket, key);
        aws.s3.putObject(bucket, key, body);
      },
    },
    mapRuns,
    runChild: (state, definition, input, name) =>
      runExecution(definition, input, `${state}:${name}`, handlers, state),
  });
  const allHandlers = { ...handlers, ...played.handlers };
  return {
    alerts,
    immediate,
    digests,
    mapRuns,
    executions,
    reportBucket: deployment.reportBucket,
    object: (key) => aws.s3.getObject(deployment.reportBucket, key)?.toString('utf8'),
    objectKeys: (prefix) => aws.s3.keys(deployment.reportBucket, prefix),
    checked() {
      const exited = events.find(
        (e) =>
          e.type === 'StateExited' &&
          (e.state.name === STATE_NAMES.gather || e.state.name === STATE_NAMES.planRollback),
      );
      if (!exited) throw new Error('the last execution has no Gather or PlanRollback output');
      const summary = (exited as unknown as { state: { output: RunSummary } }).state.output;
      const read = <T>(key: string): T => {
        const body = aws.s3.getObject(deployment.reportBucket, key);
        if (!body) throw new Error(`${key} is not in the report bucket`);
        return JSON.parse(body.toString('utf8')) as T;
      };
      const batches = read<ClusterBatch[]>(summary.due.key);
      const index = read<{ parts?: Array<{ report: string }> }>(summary.report.key);
      const clusters = (index.parts ?? []).flatMap(
        (p) => read<{ clusters: ClusterReport[] }>(p.report).clusters,
      );
      return {
        summary,
        generatedAt: summary.generatedAt,
        clusters: clusters.map(summarizeCluster),
        due: batches.flatMap((b) => b.items),
        batches,
        findings: read(summary.findings.key),
        hasFindings: summary.hasFindings,
      };
    },
    calls,
    events,
    state: aws.state.store(table),
    backend: aws.state,
    table,
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
      executions.length = 0;
      seedSecrets();
      // What the deployment writes (BucketDeployment): this deployment's cluster list.
      aws.s3.putObject(
        deployment.reportBucket,
        CLUSTER_LIST_KEY,
        JSON.stringify(clusterList(deployedConfig)),
      );
      const from = aws.aws.calls.length;
      const executionId = `arn:aws:states:us-east-1:123456789012:execution:RsCertWatchdog:${randomUUID()}`;
      const run = await runExecution(played.definition, input, executionId, allHandlers);
      const output = run.output;
      const failure =
        run.status === 'FAILED' ? Object.assign(new Error(run.cause), { name: run.error }) : undefined;
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
const warmUp = synthesizeWatchdog(
  asDeployedConfig({
    renewBeforeDays: 30,
    stateDir: '.rs-cert-watchdog',
    concurrency: 8,
    alerts: { emails: [] },
    pushRetry: { maxAttempts: 1, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 1, jitter: 'FULL' },
    clusters: [{ name: 'warm-up', endpoint: 'https://127.0.0.1:9443', username: 'u', certificates: {} }],
  } as unknown as WatchdogConfig),
);
/** The state table's name as the loopback account names it (every deployment of a world shares it). */
const STATE_TABLE_OF_TEST_STACK = (() => {
  const deployment = describeDeployment(warmUp, 'arn:aws:kms:us-east-1:123456789012:key/warm-up');
  const name = deployment.functions.issue?.environment.STATE_TABLE_NAME;
  if (!name) throw new Error('the synthesized issue function has no STATE_TABLE_NAME');
  return name;
})();

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
