/**
 * Runs the state machine that CDK synthesizes, locally (aws-local-stepfunctions), with each Lambda
 * task overridden by our real handler factories wired to local adapters: the simulator's
 * credentials, a state directory, the httpreq DNS bridge to Pebble, and collected alerts.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { ConfigCredentialsProvider, loadConfig } from '../../lambdas/adapters/config-file';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq/dns-provider';
import { CollectingNotifier } from '../../lambdas/adapters/in-memory/notifier';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/secret-store';
import { connectCluster } from '../../lambdas/adapters/rs-https';
import { probeEndpoint, publicRootPems } from '../../lambdas/adapters/tls';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import type { RenewalContext } from '../../lambdas/domain/renewal/context';
import { RENEWAL_STEPS } from '../../lambdas/domain/renewal/steps';
import { sleep } from '../../lambdas/domain/retry';
import { StateStore } from '../../lambdas/domain/state';
import { createActiveActiveHandler } from '../../lambdas/handlers/active-active';
import { withIssuer } from '../../lambdas/handlers/aws-context';
import { createCheckHandler } from '../../lambdas/handlers/check';
import type { CheckEvent } from '../../lambdas/handlers/events';
import { acmeIssuerFor, createIssueHandler } from '../../lambdas/handlers/issue';
import { createNotifyHandler } from '../../lambdas/handlers/notify';
import { createPushHandler } from '../../lambdas/handlers/push';
import { createVerifyHandler } from '../../lambdas/handlers/verify';
import { STATE_NAMES } from '../../lib/workflow';
import { synthesizedDefinition } from './synthesized-definition';
import type { World } from './world';

export interface LocalWorkflow {
  alerts: CollectingNotifier['alerts'];
  /** Runs one execution to its end and returns its output. */
  execute(input?: CheckEvent): Promise<unknown>;
}

/** The same config as the CLI's, made deployable (a credentials secret per cluster, Route 53). */
export function asDeployedConfig(config: WatchdogConfig): WatchdogConfig {
  return {
    ...config,
    dns: { provider: 'route53', hostedZoneId: 'Z0TEST' },
    clusters: config.clusters.map(({ password: _p, passwordEnv: _e, ...c }) => ({
      ...c,
      credentialsSecret: `rs/${c.name}`,
    })),
  };
}

export interface LocalWorkflowOptions {
  /** Makes a task fail as a crashed Lambda does (error `Lambda.Unknown`), this many times. */
  crash?: { state: string; times: number };
}

export async function localWorkflow(
  world: World,
  configPath: string,
  options: LocalWorkflowOptions = {},
): Promise<LocalWorkflow> {
  const config = loadConfig(configPath);
  const definition = synthesizedDefinition(asDeployedConfig(config)) as unknown as StateMachineDefinition;
  const notifier = new CollectingNotifier();
  const acmeTrustPem = config.acme?.caFile ? await readFile(config.acme.caFile, 'utf8') : undefined;
  const dns = new HttpReqDnsProvider({ endpoint: world.bridge!.url });
  const ctx: RenewalContext = {
    config,
    credentials: new ConfigCredentialsProvider(world.env),
    connect: connectCluster,
    probe: probeEndpoint,
    state: new StateStore(new LocalDirectoryStore(config.stateDir)),
    notifier,
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
  const check = createCheckHandler(() => ctx);
  const issue = createIssueHandler(
    withIssuer(
      () => ctx,
      (c) => acmeIssuerFor(c, dns),
    ),
  );
  const push = createPushHandler(() => ctx);
  const verify = createVerifyHandler(() => ctx);
  const activeActive = createActiveActiveHandler(() => ctx);
  const notify = createNotifyHandler(() => ctx);
  // JSON in, JSON out, as Lambda does: no object identity leaks between states.
  const crash = options.crash ? { ...options.crash } : undefined;
  const json =
    <I, O>(fn: (input: I) => Promise<O>, state: string) =>
    async (input: unknown) => {
      const output = JSON.parse(JSON.stringify(await fn(JSON.parse(JSON.stringify(input)) as I)));
      if (crash && crash.state === state && crash.times > 0) {
        // The work is done (e.g. the PUT went through) but the function dies before returning.
        crash.times--;
        throw Object.assign(new Error('Process exited before completing request'), {
          name: 'Lambda.Unknown',
        });
      }
      return output;
    };

  const machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: false } });
  return {
    alerts: notifier.alerts,
    async execute(input: CheckEvent = {}) {
      const execution = machine.run(input as never, {
        overrides: {
          taskResourceLocalHandlers: {
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
          retryIntervalOverrides: { [STATE_NAMES.push]: 10, [STATE_NAMES.issue]: 700 },
        },
      });
      return execution.result;
    },
  };
}
