/**
 * The deployable stack: reads a configuration file and hands it to CertificateWatchdog. No
 * environment (account/region) and no lookups, so `cdk synth` runs offline and without credentials.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { loadConfig } from '../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../lambdas/domain/config/types';
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
  }
}
