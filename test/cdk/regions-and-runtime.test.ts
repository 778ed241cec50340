/**
 * Issue 11.5 and 11.7, and issue 9.4's single esbuild options module: every region deploys (or
 * fails clearly), the functions run Node.js 24, and everything that bundles builds for it with the
 * same options.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import { CLI_NODE_TARGET, LAMBDA_NODE_TARGET, lambdaBuildOptions } from '../../lib/bundling/esbuild-options';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { LAMBDA_RUNTIME } from '../../lib/functions';
import { knownLayerRegions, PARAMS_AND_SECRETS_CONTEXT_KEY } from '../../lib/params-and-secrets';
import { WatchdogStack } from '../../lib/watchdog-stack';
import { TEST_STACK_NAME, testContext } from '../support/synthesized-definition';

const exampleFile = fileURLToPath(new URL('../../config.example.json', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const LAYER =
  'arn:aws:lambda:il-central-1:123456789012:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:3';

function synth(region?: string, options: { prop?: string; context?: string } = {}) {
  const app = new App({
    context: {
      ...testContext(),
      ...(options.context ? { [PARAMS_AND_SECRETS_CONTEXT_KEY]: options.context } : {}),
    },
  });
  const stack = new WatchdogStack(app, TEST_STACK_NAME, {
    configFile: exampleFile,
    ...(region ? { env: { region } } : {}),
    ...(options.prop ? { watchdog: { paramsAndSecretsLayerArn: options.prop } } : {}),
  });
  const template = Template.fromStack(stack);
  const check =
    template.findResources('AWS::Lambda::Function')[
      logicalIdOf(stack.watchdog.functions.check.node.defaultChild as CfnElement)
    ];
  return { template, layers: JSON.stringify(check?.Properties.Layers) };
}

describe('the Parameters and Secrets layer', () => {
  it('comes from the CDK for a region it knows', () => {
    expect(synth('eu-west-3').layers).toContain(':eu-west-3:');
  });

  it('stops synth with the way out in a region the CDK does not know', () => {
    expect(knownLayerRegions()).not.toContain('il-central-1');
    expect(() => synth('il-central-1')).toThrow(
      /no Parameters and Secrets extension layer is known for region il-central-1: .*paramsAndSecretsLayerArn prop or with -c paramsAndSecretsLayerArn=/,
    );
  });

  it('can be given as a construct prop or a context key', () => {
    expect(synth('il-central-1', { prop: LAYER }).layers).toBe(JSON.stringify([LAYER]));
    expect(synth('il-central-1', { context: LAYER }).layers).toBe(JSON.stringify([LAYER]));
    expect(() => synth('il-central-1', { prop: 'not-an-arn' })).toThrow(/is not a Lambda layer version ARN/);
  });

  it('stops a region-agnostic deploy in an unknown region before any resource, with the same advice', () => {
    const rules = synth().template.toJSON().Rules as Record<
      string,
      { Assertions: Array<Record<string, unknown>> }
    >;
    const rule = Object.entries(rules).find(([id]) =>
      id.startsWith('WatchdogParamsAndSecretsLayerRegion'),
    )?.[1];
    expect(rule?.Assertions[0]).toEqual({
      Assert: { 'Fn::Contains': [knownLayerRegions(), { Ref: 'AWS::Region' }] },
      AssertDescription: expect.stringMatching(/paramsAndSecretsLayerArn/),
    });
    expect(synth('eu-west-3').template.toJSON().Rules?.WatchdogParamsAndSecretsLayerRegion).toBeUndefined();
  });
});

describe('runtime and bundling', () => {
  it('runs nodejs24.x and bundles for node24', () => {
    expect(LAMBDA_RUNTIME.name).toBe('nodejs24.x');
    expect(LAMBDA_NODE_TARGET).toBe('node24');
    expect(lambdaBuildOptions(root)).toMatchObject({
      target: 'node24',
      format: 'esm',
      minify: true,
      alias: { 'node-forge': `${root}lambdas/bundling/node-forge-unused.cjs` },
    });
  });

  it('builds the CLI for the oldest Node in package.json engines', () => {
    const engines = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).engines.node as string;
    expect(engines).toBe(`>=${CLI_NODE_TARGET.replace('node', '')}`);
  });

  it('is the one set of options: the benchmarks and the CLI build take theirs from it', () => {
    for (const file of ['bench/cold-start.bench.ts', 'bench/issuance.bench.ts']) {
      const source = readFileSync(`${root}${file}`, 'utf8');
      expect(source, file).toContain('lambdaBuildOptions(REPO_DIR)');
      expect(source, file).not.toMatch(/target: '|node-forge-unused|createRequire }/);
    }
    const cli = readFileSync(`${root}scripts/build-cli.mjs`, 'utf8');
    expect(cli).toContain('lib/bundling/esbuild-options.json');
    expect(cli).not.toMatch(/target:/);
  });
});

describe('the check function and secrets of other regions', () => {
  it('carries the SDK (check-any-region) only when a cluster secret is in another region', () => {
    const description = (config: WatchdogConfig) => {
      const stack = new WatchdogStack(new App({ context: testContext() }), TEST_STACK_NAME, { config });
      const fn = stack.watchdog.functions.check.node.defaultChild as lambda.CfnFunction;
      return stack.resolve(fn.description) as string;
    };
    const example = loadConfig(exampleFile);
    expect(description(example)).toBe('rs-cert-watchdog check (check-any-region.ts)');
    const local = {
      ...example,
      clusters: example.clusters.map((c) => ({
        ...c,
        credentialsSecret: `rs-cert-watchdog/clusters/${c.name}`,
      })),
    };
    expect(description(local)).toBe('rs-cert-watchdog check');
  });
});

describe('bin/app.ts: the stack deploys to the region it is deployed to (issue 19)', () => {
  /** Runs the app as `cdk synth` does (context in CDK_CONTEXT_JSON), without bundling. */
  function synthApp(context: Record<string, unknown>, env: Record<string, string> = {}) {
    const outdir = mkdtempSync(join(tmpdir(), 'app-region-'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: root,
      env: {
        ...process.env,
        ...env,
        CDK_CONTEXT_JSON: JSON.stringify({ [cxapi.BUNDLING_STACKS]: [], ...context }),
        CDK_OUTDIR: outdir,
      },
      encoding: 'utf8',
      timeout: 300_000,
    });
    const file = join(outdir, `${TEST_STACK_NAME}.template.json`);
    const template =
      run.status === 0 ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
    return { code: run.status, stderr: run.stderr, template, text: template ? JSON.stringify(template) : '' };
  }

  it('bakes no region in, although the CDK CLI always sets CDK_DEFAULT_REGION', { timeout: 300_000 }, () => {
    const { code, template, text } = synthApp({}, { CDK_DEFAULT_REGION: 'us-east-1' });
    expect(code).toBe(0);
    // Nothing names us-east-1 outside the CDK's map of every region's layer: ARNs and conditions take AWS::Region.
    expect(JSON.stringify({ ...template, Mappings: undefined })).not.toMatch(/[.:]us-east-1[.:]/);
    expect(text).toContain('"secretsmanager.",{"Ref":"AWS::Region"},".amazonaws.com"');
    // The layer comes from the CDK's map by AWS::Region, and the rule stops an unknown region.
    expect(text).toContain('"Fn::FindInMap":["ParamsandsecretslayerMap",{"Ref":"AWS::Region"}');
    expect(
      Object.keys((template?.Rules ?? {}) as object).some((id) =>
        id.startsWith('WatchdogParamsAndSecretsLayerRegion'),
      ),
    ).toBe(true);
  });

  it('bakes in the region -c region=… names, and refuses one that is not a region', {
    timeout: 300_000,
  }, () => {
    const { code, template, text } = synthApp({ region: 'eu-west-3' });
    expect(code).toBe(0);
    expect(text).toContain(':eu-west-3:');
    expect(
      Object.keys((template?.Rules ?? {}) as object).some((id) =>
        id.startsWith('WatchdogParamsAndSecretsLayerRegion'),
      ),
    ).toBe(false);
    expect(text).toContain('secretsmanager.eu-west-3.amazonaws.com');
    const bad = synthApp({ region: 'eu-west' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/-c region: "eu-west" is not an AWS region such as eu-west-1/);
  });
});
