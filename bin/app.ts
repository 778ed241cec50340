/**
 * The CDK app: `npx cdk synth -c config=path/to/config.json` (default config.example.json).
 * Every synth runs the cdk-nag AwsSolutions checks; an unacknowledged finding stops it.
 * `-c paramsAndSecretsLayerArn=arn:…` supplies the extension layer in a region the CDK does not know.
 *
 * A configuration the deployment cannot use (unreadable, invalid, or holding a secret that would
 * ship in the bundle) is printed as the CLI prints it, and synth exits 2, without a stack trace.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatConfigError } from '../lambdas/adapters/config-file';
import { WatchdogError } from '../lambdas/domain/errors';
import { WatchdogStack } from '../lib/watchdog-stack';

const app = new App();
const configFile: string = app.node.tryGetContext('config') ?? 'config.example.json';
const stackName: string = app.node.tryGetContext('stackName') ?? 'RsCertWatchdog';

try {
  new WatchdogStack(app, stackName, {
    configFile,
    // The region the CLI resolved (profile or AWS_REGION), if any: a region-specific template takes
    // the Parameters and Secrets layer ARN at synth and fails clearly in a region without one. No
    // account: synth stays offline and needs no credentials.
    ...(process.env.CDK_DEFAULT_REGION ? { env: { region: process.env.CDK_DEFAULT_REGION } } : {}),
    description:
      'rs-cert-watchdog: certificate expiry watchdog and ACME renewer for Redis Enterprise clusters',
  });
} catch (error) {
  if (!(error instanceof WatchdogError)) throw error;
  process.stderr.write(`${formatConfigError(error)}\n`);
  process.exit(2);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
