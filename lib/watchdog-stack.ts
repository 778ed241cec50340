/**
 * The deployable stack: reads a configuration file and hands it to CertificateWatchdog. No account,
 * no region unless one is asked for (`stackEnvironment`), and no lookups, so `cdk synth` runs offline
 * and without credentials, and the template deploys to the region it is deployed to.
 */
import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { loadConfig } from '../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
import { ConfigError } from '../lambdas/domain/errors';
import { CertificateWatchdog, type CertificateWatchdogProps } from './certificate-watchdog';

export interface WatchdogStackProps extends StackProps {
  /**
   * The configuration file (JSON, see config.schema.json). Relative PEM paths in it resolve against
   * its directory. Give this or `config`.
   */
  readonly configFile?: string;
  /** An already loaded configuration, instead of `configFile`. */
  readonly config?: WatchdogConfig;
  /**
   * Options of the construct other than the config.
   * @default - the construct's defaults
   */
  readonly watchdog?: Omit<CertificateWatchdogProps, 'config'>;
}

/** The context key that bakes a region into the template: `-c region=eu-west-1`. */
export const REGION_CONTEXT_KEY = 'region';

/**
 * The stack's environment: none (a region-agnostic template, deployed to whatever region
 * `cdk deploy` targets) unless the context names a region. The CDK CLI always sets
 * CDK_DEFAULT_REGION (falling back to us-east-1 without a profile or AWS_REGION), so reading it
 * would bake in a region nobody chose; it is ignored. No account either: synth stays offline.
 */
export function stackEnvironment(context: { tryGetContext(key: string): unknown }): StackProps['env'] {
  const region = context.tryGetContext(REGION_CONTEXT_KEY);
  if (region === undefined) return undefined;
  if (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ConfigError(
      `-c ${REGION_CONTEXT_KEY}: "${String(region)}" is not an AWS region such as eu-west-1`,
      {
        hint: 'leave it out for a template that deploys to any region',
      },
    );
  }
  return { region };
}

export class WatchdogStack extends Stack {
  public readonly watchdog: CertificateWatchdog;

  constructor(scope: Construct, id: string, props: WatchdogStackProps) {
    super(scope, id, props);
    if ((props.configFile === undefined) === (props.config === undefined)) {
      throw new Error('WatchdogStack: give exactly one of configFile and config');
    }
    const config = props.config ?? loadConfig(props.configFile as string);
    this.watchdog = new CertificateWatchdog(this, 'Watchdog', { ...props.watchdog, config });
    // What an operator needs after `cdk deploy`: where to start a run by hand, where alerts go, what to watch.
    new CfnOutput(this, 'RenewalStateMachineArn', { value: this.watchdog.stateMachine.stateMachineArn });
    new CfnOutput(this, 'AlertTopicArn', { value: this.watchdog.alertTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.watchdog.dashboard.dashboardName });
    new CfnOutput(this, 'StateSecretPrefix', { value: this.watchdog.stateSecretPrefix });
    new CfnOutput(this, 'StateTableName', { value: this.watchdog.stateTable.tableName });
    // What a cluster role in another account trusts (README, clusters in other accounts).
    new CfnOutput(this, 'ClusterSecretReaderRoleArns', {
      value: Fn.join(
        ',',
        this.watchdog.clusterSecretReaders.map((r) => r.roleArn),
      ),
    });
  }
}
