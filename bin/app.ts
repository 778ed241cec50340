/**
 * The CDK app: `npx cdk synth -c config=path/to/config.json` (default config.example.json).
 * Every synth runs the cdk-nag AwsSolutions checks; an unacknowledged finding stops it.
 * `-c paramsAndSecretsLayerArn=arn:…` supplies the extension layer in a region the CDK does not know.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WatchdogStack } from '../lib/watchdog-stack';

const app = new App();
const configFile: string = app.node.tryGetContext('config') ?? 'config.example.json';
const stackName: string = app.node.tryGetContext('stackName') ?? 'RsCertWatchdog';

new WatchdogStack(app, stackName, {
  configFile,
  // The region the CLI resolved (profile or AWS_REGION), if any: a region-specific template takes
  // the Parameters and Secrets layer ARN at synth and fails clearly in a region without one. No
  // account: synth stays offline and needs no credentials.
  ...(process.env.CDK_DEFAULT_REGION ? { env: { region: process.env.CDK_DEFAULT_REGION } } : {}),
  description: 'rs-cert-watchdog: certificate expiry watchdog and ACME renewer for Redis Enterprise clusters',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
