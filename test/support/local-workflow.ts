/**
 * Runs the state machine that CDK synthesizes, locally (aws-local-stepfunctions), with each Lambda
 * task overridden by our real handler factories wired to local adapters: the simulator's
 * credentials, the state on the DynamoDB adapter against dynalite (keys sealed by a KMS stand-in:
 * ./state-backend.ts, one table per config stateDir), the httpreq DNS bridge to Pebble, and
 * collected alerts.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { HttpsRenewalInfoSource } from '../../lambdas/adapters/acme/renewal-info';
import { ConfigCredentialsProvider, loadConfig } from '../../lambdas/adapters/config-file';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq/dns-provider';
import { CollectingNotifier } from '../../lambdas/adapters/in-memory/notifier';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import { probeEndpoint, publicRootPems } from '../../lambdas/adapters/tls';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { recordInspectionMemory } from '../../lambdas/domain/inspection-memory-records';
import type { Notifier } from '../../lambdas/domain/ports';
import type { RenewalContext } from '../../lambdas/domain/renewal/context';
import { logOnce, recordWindows } from '../../lambdas/domain/renewal/renewal-info';
import { RENEWAL_STEPS } from '../../lambdas/domain/renewal/steps';
import { maxLockLeaseMs, sleep } from '../../lambdas/domain/retry';
import type { StateStore } from '../../lambdas/domain/state';
import { createActiveActiveHandler } from '../../lambdas/handlers/active-active';
import { createCheckHandler } from '../../lambdas/handlers/check';
import type { CheckEvent } from '../../lambdas/handlers/events';
import { createIssueHandler } from '../../lambdas/handlers/issue';
import { createMigrateStateHandler } from '../../lambdas/handlers/migrate-state';
import { createNotifyHandler } from '../../lambdas/handlers/notify';
import { createPushHandler } from '../../lambdas/handlers/push';
import { createVerifyHandler } from '../../lambdas/handlers/verify';
import { withIssuer } from '../../lambdas/wiring/aws-context';
import { issuerFor } from '../../lambdas/wiring/issuers';
import { STATE_NAMES } from '../../lib/workflow';
import { type StateBackend, stateBackend, tableFor } from './state-backend';
import { synthesizedDefinition } from './synthesized-definition';
import type { World } from './world';

export interface LocalWorkflow {
  alerts: CollectingNotifier['alerts'];
  /** Every task invocation, in order: the state, its input, and the error it threw (if any). */
  calls: TaskCall[];
  /** The event log of the last execution (StateEntered, StateRetried, StateCaught, ...). */
  events: EventLog[];
  /** The state store the handlers use: the DynamoDB table of the config's stateDir. */
  state: StateStore;
  /** The loopback AWS state the handlers use (dynalite, KMS and Secrets Manager stand-ins), and their table. */
  backend: StateBackend;
  table: string;
  /** Runs one execution to its end and returns its output; rejects when the execution fails. */
  execute(input?: CheckEvent): Promise<unknown>;
}

/** One entry of an execution's event log (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface TaskCall {
  state: string;
  input: unknown;
  error?: string;
}

/** The same config as the CLI's, made deployable (a credentials secret per cluster, Route 53). */
export function asDeployedConfig(config: WatchdogConfig): WatchdogConfig {
  return {
    ...config,
    dns: { provider: 'route53', hostedZoneId: 'Z0TEST' },
    clusters: config.clusters.map(({ password: _p, passwordEnv: _e, ...c }) => ({
      ...c,
      credentialsSecret: `rs/${c.name}`,
      // A CA key never ships in the bundle: the deployment reads it from a secret.
      ...(c.certificates && {
        certificates: Object.fromEntries(
          Object.entries(c.certificates).map(([name, settings]) => {
            const issuer = settings.issuer;
            if (typeof issuer !== 'object' || issuer.type !== 'local-ca' || issuer.keyFile === undefined)
              return [name, settings];
            const { keyFile: _k, ...rest } = issuer;
            return [name, { ...settings, issuer: { ...rest, keySecret: `ca/${c.name}/${name}` } }];
          }),
        ),
      }),
    })),
  };
}

export interface LocalWorkflowOptions {
  /**
   * Makes a task fail after it ran, as a crashed Lambda does (error `Lambda.Unknown`, or `error`,
   * e.g. `Lambda.ServiceException`, which the task's Retry retries), this many times.
   */
  crash?: { state: string; times: number; error?: string };
  /**
   * Makes a task throw this error instead of running, `times` times: a Lambda service error such as
   * `Lambda.ServiceException`, or a step failing.
   */
  throws?: Array<{ state: string; error: { name: string; message: string }; times: number }>;
  /** Where the notify task sends alerts (default: collected in `alerts`). */
  notifier?: Notifier;
  /** The AWS Private CA client of the issue task (default: the SDK's, which aws-sdk-client-mock can mock). */
  pca?: (region: string) => ACMPCAClient;
  /** Retry interval overrides (milliseconds) by state, over the defaults below. */
  retryIntervalOverrides?: Record<string, number>;
}

const definitions = new Map<string, StateMachineDefinition>();

export async function localWorkflow(
  world: World,
  configPath: string,
  options: LocalWorkflowOptions = {},
): Promise<LocalWorkflow> {
  const config = loadConfig(configPath);
  // A synth takes seconds: runs of one world (a crash, then the run that resumes) share it.
  const deployed = JSON.stringify(asDeployedConfig(config));
  let definition = definitions.get(deployed);
  if (!definition) {
    definition = synthesizedDefinition(JSON.parse(deployed)) as unknown as StateMachineDefinition;
    definitions.set(deployed, definition);
  }
  const notifier = new CollectingNotifier();
  const acmeTrustPem = config.acme?.caFile ? await readFile(config.acme.caFile, 'utf8') : undefined;
  const dns = new HttpReqDnsProvider({ endpoint: world.bridge!.url });
  // ── The state, chosen here only: the DynamoDB adapter on dynalite, as wiring/state.ts on AWS. ──
  const backend = await stateBackend();
  const table = tableFor(config.stateDir);
  await backend.createTable(table);
  const state = backend.store(table, { maxLeaseMs: maxLockLeaseMs(config.pushRetry) });
  // The check function has no key sealer (it never reads a key).
  const checkState = backend.store(table, { keys: false });
  // ─────────────────────────────────────────────────────────────────────────────────────────────
  const ctx: RenewalContext = {
    config,
    credentials: new ConfigCredentialsProvider(world.env),
    connect: connectCluster,
    probe: probeEndpoint,
    state,
    notifier: options.notifier ?? notifier,
    issuer: () => {
      throw new Error('only the issue task orders');
    },
    acmeTrustPem,
    publicRootPems,
    // Each Lambda invocation is its own process: the execution's id (from the item) holds the lock.
    lockOwner: { id: `lambda:${randomUUID()}`, description: 'a Lambda invocation' },
    now: () => new Date(),
    sleep,
  };
  // As the check handler on AWS: ARI over plain HTTPS, windows and the inspection memory in the table.
  const renewalInfo = config.acme && {
    source: new HttpsRenewalInfoSource({ directoryUrl: config.acme.directoryUrl, trustPem: acmeTrustPem }),
    windows: recordWindows(checkState.records),
    log: logOnce(() => undefined),
  };
  const inspectionMemory = recordInspectionMemory(checkState.records);
  const check = createCheckHandler(() => ({
    ...ctx,
    state: checkState,
    inspectionMemory,
    ...(renewalInfo ? { renewalInfo } : {}),
  }));
  const migrateState = createMigrateStateHandler(() => ({
    config,
    legacy: backend.legacy(),
    state,
    now: () => new Date(),
  }));
  const issue = createIssueHandler(
    withIssuer(
      () => ctx,
      (c, settings) => issuerFor(c, settings, dns, options.pca),
    ),
  );
  const push = createPushHandler(() => ctx);
  const verify = createVerifyHandler(() => ctx);
  const activeActive = createActiveActiveHandler(() => ctx);
  const notify = createNotifyHandler(() => ctx);
  // JSON in, JSON out, as Lambda does: no object identity leaks between states.
  const crash = options.crash ? { ...options.crash } : undefined;
  const throws = (options.throws ?? []).map((t) => ({ ...t }));
  const calls: TaskCall[] = [];
  const json =
    <I, O>(fn: (input: I) => Promise<O>, state: string) =>
    async (input: unknown) => {
      const call: TaskCall = { state, input: JSON.parse(JSON.stringify(input)) };
      calls.push(call);
      const injected = throws.find((t) => t.state === state && t.times > 0);
      if (injected) {
        injected.times--;
        call.error = injected.error.name;
        throw Object.assign(new Error(injected.error.message), { name: injected.error.name });
      }
      let result: O;
      try {
        result = await fn(JSON.parse(JSON.stringify(input)) as I);
      } catch (error) {
        call.error = (error as Error).name;
        throw error;
      }
      const output = JSON.parse(JSON.stringify(result));
      if (crash && crash.state === state && crash.times > 0) {
        // The work is done (e.g. the PUT went through) but the function dies before returning.
        crash.times--;
        call.error = crash.error ?? 'Lambda.Unknown';
        throw Object.assign(new Error('Process exited before completing request'), {
          name: crash.error ?? 'Lambda.Unknown',
        });
      }
      return output;
    };

  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: false } });
  const events: EventLog[] = [];
  return {
    alerts: notifier.alerts,
    calls,
    events,
    state,
    backend,
    table,
    async execute(input: CheckEvent = {}) {
      events.length = 0;
      // The context object Step Functions gives every execution: the Map names the execution as the
      // holder of its certificates' locks.
      const id = `arn:aws:states:us-east-1:123456789012:execution:RsCertWatchdog:${randomUUID()}`;
      const execution = machine.run(input as never, {
        context: { Execution: { Id: id, Name: id.split(':').pop() } } as never,
        overrides: {
          taskResourceLocalHandlers: {
            [STATE_NAMES.migrateState]: json(
              (event: unknown) => migrateState(event),
              STATE_NAMES.migrateState,
            ),
            [STATE_NAMES.check]: json(check, STATE_NAMES.check),
            [STATE_NAMES.notifyFindings]: json(notify, STATE_NAMES.notifyFindings),
            [STATE_NAMES.issue]: json(issue, STATE_NAMES.issue),
            [STATE_NAMES.push]: json(push, STATE_NAMES.push),
            [STATE_NAMES.verify]: json(verify, STATE_NAMES.verify),
            [RENEWAL_STEPS.activeActive]: json(activeActive, RENEWAL_STEPS.activeActive),
            [STATE_NAMES.notifyRenewed]: json(notify, STATE_NAMES.notifyRenewed),
            [STATE_NAMES.notifyFailed]: json(notify, STATE_NAMES.notifyFailed),
          },
          // The Retry numbers are asserted in the template tests; here only their behaviour matters.
          // Lock retries wait long enough for another execution's order (~0.5 s).
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
      try {
        return await execution.result;
      } finally {
        await logged.catch(() => undefined);
      }
    },
  };
}
