/**
 * The CDK app: `npx cdk synth -c config=path/to/config.json` (default config.example.json).
 * Every synth runs the cdk-nag AwsSolutions checks; an unacknowledged finding stops it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { WatchdogStack } from '../lib/watchdog-stack';

const app = new App();
const configFile: string = app.node.tryGetContext('config') ?? 'config.example.json';
const stackName: string = app.node.tryGetContext('stackName') ?? 'RsCertWatchdog';

new WatchdogStack(app, stackName, {
  configFile,
  description: 'rs-cert-watchdog: certificate expiry watchdog and ACME renewer for Redis Enterprise clusters',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
