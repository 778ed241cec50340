/**
 * The CDK app: `npx cdk synth -c config=path/to/config.json` (default config.example.json).
 * Every synth runs the cdk-nag AwsSolutions checks; an unacknowledged finding stops it.
 * `-c paramsAndSecretsLayerArn=arn:…` supplies the extension layer in a region the CDK does not know;
 * `-c region=eu-west-1` bakes a region into the template (default: none, it deploys anywhere).
 *
 * A configuration the deployment cannot use (unreadable, invalid, or holding a secret that would
 * ship in the bundle) is printed as the CLI prints it, and synth exits 2, without a stack trace.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatConfigError } from '../lambdas/adapters/config-file';
import { WatchdogError } from '../lambdas/domain/errors';
import { stackEnvironment, WatchdogStack } from '../lib/watchdog-stack';

const app = new App();
const configFile: string = app.node.tryGetContext('config') ?? 'config.example.json';
const stackName: string = app.node.tryGetContext('stackName') ?? 'RsCertWatchdog';

try {
  // Region-agnostic unless `-c region=…` asks for one (never CDK_DEFAULT_REGION: the CDK CLI always
  // sets it, to us-east-1 when nothing else says). A region-agnostic template deploys to the region
  // `cdk deploy` targets; a rule in it stops the deploy in a region without a known extension layer.
  const env = stackEnvironment(app.node);
  new WatchdogStack(app, stackName, {
    configFile,
    ...(env ? { env } : {}),
    description:
      'rs-cert-watchdog: certificate expiry watchdog and ACME renewer for Redis Enterprise clusters',
  });
} catch (error) {
  if (!(error instanceof WatchdogError)) throw error;
  process.stderr.write(`${formatConfigError(error)}\n`);
  process.exit(2);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
