/**
 * Function defaults and bundling: every watchdog function is a NodejsFunction built by the local
 * esbuild with the shared options (./bundling/esbuild-options.ts), on Node.js 24, arm64, with its own
 * log group and the Powertools names in its environment.
 */
import { join } from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LAMBDA_NODE_TARGET, lambdaBuildOptions } from './bundling/esbuild-options';

/** The runtime the functions run; the bundles are built for the same Node major. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
if (LAMBDA_RUNTIME.name !== `nodejs${LAMBDA_NODE_TARGET.replace('node', '')}.x`) {
  throw new Error(`esbuild target ${LAMBDA_NODE_TARGET} does not match the runtime ${LAMBDA_RUNTIME.name}`);
}

/**
 * The Powertools names, set as POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE on every
 * function; the handlers' Logger and Metrics read them from there (lambdas/handlers/runtime.ts).
 */
export const POWERTOOLS = { serviceName: 'rs-cert-watchdog', metricsNamespace: 'RsCertWatchdog' } as const;

export interface VpcPlacement {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

export interface WatchdogFunctionOptions extends Partial<VpcPlacement> {
  /** The repository root: the handler is `lambdas/handlers/<name>.ts` under it. */
  readonly projectRoot: string;
  readonly logRetention: logs.RetentionDays;
  /** A directory copied into the bundle root (the bundled config), if any. */
  readonly configDir?: string | undefined;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** The AWS Parameters and Secrets Lambda Extension (GetSecretValue on localhost:2773). */
  readonly paramsAndSecrets?: lambda.ParamsAndSecretsLayerVersion;
  /** The handler file under lambdas/handlers/, when it is not `<name>.ts`. */
  readonly handlerFile?: string;
  /** Reserved concurrency (the Slack forwarder: 1, so that one pacing clock spaces every post). */
  readonly reservedConcurrentExecutions?: number;
}

/** One watchdog function, `lambdas/handlers/<name>.ts`, as `<PascalName>Function`. */
export function watchdogFunction(
  scope: Construct,
  name: string,
  options: WatchdogFunctionOptions,
): nodejs.NodejsFunction {
  const id = pascalCase(name);
  const { configDir, projectRoot } = options;
  const esbuild = lambdaBuildOptions(projectRoot);
  return new nodejs.NodejsFunction(scope, `${id}Function`, {
    description: `rs-cert-watchdog ${name}${options.handlerFile ? ` (${options.handlerFile})` : ''}`,
    entry: join(projectRoot, 'lambdas', 'handlers', options.handlerFile ?? `${name}.ts`),
    handler: 'handler',
    projectRoot,
    depsLockFilePath: join(projectRoot, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: options.memorySize ?? 256,
    ...(options.paramsAndSecrets ? { paramsAndSecrets: options.paramsAndSecrets } : {}),
    timeout: options.timeout,
    ...(options.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
    logGroup: new logs.LogGroup(scope, `${id}Logs`, { retention: options.logRetention }),
    environment: {
      ...options.environment,
      POWERTOOLS_SERVICE_NAME: POWERTOOLS.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: POWERTOOLS.metricsNamespace,
      NODE_OPTIONS: '--enable-source-maps',
    },
    ...(options.vpc
      ? { vpc: options.vpc, vpcSubnets: options.vpcSubnets, securityGroups: options.securityGroups }
      : {}),
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: esbuild.target,
      mainFields: esbuild.mainFields,
      banner: esbuild.banner.js,
      minify: esbuild.minify,
      // DEFAULT is esbuild's `--sourcemap`, i.e. `linked` (a .map file and a sourceMappingURL comment).
      sourceMap: esbuild.sourcemap === 'linked',
      sourceMapMode: nodejs.SourceMapMode.DEFAULT,
      sourcesContent: esbuild.sourcesContent,
      externalModules: [],
      esbuildArgs: Object.fromEntries(
        Object.entries(esbuild.alias).map(([module, path]) => [`--alias:${module}`, path]),
      ),
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        // The config (4 KB env var limit) and its PEM files travel in the bundle.
        afterBundling: (_inputDir: string, outputDir: string) =>
          configDir ? [`cp -R "${configDir}/." "${outputDir}"`] : [],
      },
    },
  });
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase());
}
