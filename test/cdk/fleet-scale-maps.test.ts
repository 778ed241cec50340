/**
 * Issue 19 (part B), in the synthesized template: the two Distributed Maps (the sharded check and the
 * renewals), the report bucket's settings, the cluster list the deployment writes (read back from the
 * cloud assembly), and that no state passes the fleet's `clusters` or `findings` arrays (every state
 * of the definition is walked, the maps' child definitions included).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CfnElement } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/adapters/config-file';
import type { WatchdogConfig } from '../../lambdas/domain/config/types';
import {
  CLUSTER_LIST_KEY,
  clusterList,
  MAP_RESULTS_PREFIX,
  RUNS_PREFIX,
} from '../../lambdas/domain/run/objects';
import { logicalIdOf } from '../../lib/certificate-watchdog';
import { STATE_NAMES } from '../../lib/workflow';
import {
  type AslState,
  type AslStateMachine,
  definitionOf,
  synthesizeWatchdog,
  TEST_ACCOUNT,
  TEST_REGION,
  testBucketName,
} from '../support/synthesized-definition';
import { evaluate, resolve, type Statement } from './support/policy-evaluator';

const example = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)));
const exampleAws = example.aws as NonNullable<WatchdogConfig['aws']>;
/** Numbers unlike the defaults, so each must come from the config. */
const config: WatchdogConfig = {
  ...example,
  clusters: [
    ...example.clusters,
    ...['prod-north', 'prod-south', 'staging-1'].map((name) => ({
      ...(example.clusters[0] as WatchdogConfig['clusters'][number]),
      name,
    })),
  ],
  aws: {
    ...exampleAws,
    mapConcurrency: 9,
    checkShards: { clustersPerShard: 7, concurrency: 13 },
    reportRetentionDays: 30,
  },
};
const synthesized = synthesizeWatchdog(config);
const { template, stack } = synthesized;
const watchdog = stack.watchdog;
const asl = definitionOf(synthesized);
const idOf = (c: { node: { defaultChild?: unknown } }) => logicalIdOf(c.node.defaultChild as CfnElement);
const bucketId = idOf(watchdog.reportBucket);
const bucketName = testBucketName(bucketId);

const state = (name: string): AslState => {
  const found = asl.States[name];
  if (!found) throw new Error(`no state ${name}`);
  return found;
};

describe('the check map (CheckFleet)', () => {
  const map = state(STATE_NAMES.checkFleet);

  it('is a Distributed Map of Express children over the cluster list the deployment wrote', () => {
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { Bucket: bucketName, Key: CLUSTER_LIST_KEY },
    });
    expect(map.ItemsPath).toBeUndefined();
  });

  it('makes shards of aws.checkShards.clustersPerShard clusters, aws.checkShards.concurrency at once', () => {
    expect(map.ItemBatcher).toEqual({
      MaxItemsPerBatch: 7,
      // The run's input and its execution reach every shard beside its clusters: no fleet-sized list.
      BatchInput: { 'execution.$': '$$.Execution.Id', 'input.$': '$' },
    });
    expect(map.MaxConcurrency).toBe(13);
    const defaults = definitionOf(synthesizeWatchdog(example)).States[STATE_NAMES.checkFleet];
    expect(defaults?.ItemBatcher).toMatchObject({ MaxItemsPerBatch: 50 });
    expect(defaults?.MaxConcurrency).toBe(40);
  });

  it('tolerates every failed shard (its clusters are findings) and writes the results to the bucket', () => {
    expect(map.ToleratedFailurePercentage).toBe(100);
    expect(map.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: bucketName, Prefix: MAP_RESULTS_PREFIX },
    });
    expect(MAP_RESULTS_PREFIX.startsWith(RUNS_PREFIX)).toBe(true);
    expect(map.ResultPath).toBe('$.checkRun');
  });
});

describe('the renewals map (RenewDue)', () => {
  const map = state(STATE_NAMES.renewDue);

  it('is a Distributed Map of Standard children (a 409 retry outlasts Express’s 5 minutes)', () => {
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ItemProcessor?.StartAt).toBe(STATE_NAMES.issue);
  });

  it('reads the run’s due list, named by Gather’s (or PlanRollback’s) summary, one cluster per child', () => {
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
      Parameters: { 'Bucket.$': '$.due.bucket', 'Key.$': '$.due.key' },
    });
    expect(map.ItemBatcher).toBeUndefined();
    expect(map.MaxConcurrency).toBe(9);
  });

  it('tolerates every failed child (each reports itself) and writes the outcomes for the digest', () => {
    expect(map.ToleratedFailurePercentage).toBe(100);
    expect(map.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: bucketName, Prefix: MAP_RESULTS_PREFIX },
    });
  });
});

describe('the report bucket', () => {
  const bucket = template.findResources('AWS::S3::Bucket')[bucketId];
  const props = bucket?.Properties ?? {};

  it('is the only bucket, encrypted with the stack’s key and a bucket key', () => {
    expect(Object.keys(template.findResources('AWS::S3::Bucket'))).toEqual([bucketId]);
    expect(props.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [idOf(watchdog.key), 'Arn'] },
          },
        },
      ],
    });
  });

  it('blocks every kind of public access and enforces the bucket owner', () => {
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  it('refuses any request without TLS, or below TLS 1.2 (the policy evaluated)', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter(
      (p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: bucketId }),
    );
    expect(policies).toHaveLength(1);
    const statements = resolve(
      policies[0]?.Properties.PolicyDocument.Statement,
      { 'AWS::Partition': 'aws', 'AWS::Region': TEST_REGION, 'AWS::AccountId': TEST_ACCOUNT },
      { [`${bucketId}.Arn`]: 'arn:aws:s3:::reports', [bucketId]: 'reports' },
    ) as Statement[];
    const request = (
      context: Record<string, string>,
      resource = 'arn:aws:s3:::reports/runs/r/report.json',
    ) => ({
      principal: { aws: TEST_ACCOUNT },
      action: 's3:GetObject',
      resource,
      context,
    });
    expect(evaluate(statements, request({ 'aws:SecureTransport': 'false', 's3:TlsVersion': '1.3' }))).toBe(
      'explicitly denied',
    );
    expect(evaluate(statements, request({ 'aws:SecureTransport': 'false' }, 'arn:aws:s3:::reports'))).toBe(
      'explicitly denied',
    );
    expect(evaluate(statements, request({ 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.1' }))).toBe(
      'explicitly denied',
    );
    // Over TLS 1.2 the bucket policy grants nothing either: access is the roles’ alone.
    expect(evaluate(statements, request({ 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.2' }))).toBe(
      'implicitly denied',
    );
  });

  it('expires every run’s objects after aws.reportRetentionDays, aborts stale uploads, and is retained', () => {
    expect(props.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'ExpireRuns', Prefix: RUNS_PREFIX, ExpirationInDays: 30, Status: 'Enabled' },
        { Id: 'AbortUploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      ],
    });
    // The cluster list (config/) is not a run's: it never expires.
    expect(CLUSTER_LIST_KEY.startsWith(RUNS_PREFIX)).toBe(false);
    expect(bucket?.DeletionPolicy).toBe('Retain');
    expect(bucket?.UpdateReplacePolicy).toBe('Retain');
    const defaults = synthesizeWatchdog(example).template.findResources('AWS::S3::Bucket');
    expect(JSON.stringify(defaults)).toContain('"ExpirationInDays":90');
  });
});

describe('the cluster list the deployment writes', () => {
  const deployments = Object.values(template.findResources('Custom::CDKBucketDeployment'));

  it('goes to config/ in the report bucket, and never deletes anything there (prune off, kept on delete)', () => {
    expect(deployments).toHaveLength(1);
    expect(deployments[0]?.Properties).toMatchObject({
      DestinationBucketName: { Ref: bucketId },
      DestinationBucketKeyPrefix: `${CLUSTER_LIST_KEY.split('/')[0]}/`,
      Prune: false,
      RetainOnDelete: true,
    });
    expect(deployments[0]?.Properties.SourceObjectKeys).toHaveLength(1);
  });

  it('is exactly clusterList(config), read from the cloud assembly’s asset', () => {
    const assembly = synthesized.app.synth();
    const manifest = JSON.parse(
      readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as { files: Record<string, { source: { path: string; packaging?: string } }> };
    const [objectKey] = (deployments[0]?.Properties.SourceObjectKeys ?? []) as string[];
    const asset = manifest.files[String(objectKey).replace(/\.zip$/, '')];
    expect(asset?.source.packaging).toBe('zip');
    const file = join(
      assembly.directory,
      String(asset?.source.path),
      CLUSTER_LIST_KEY.split('/').pop() as string,
    );
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(clusterList(config));
    expect(clusterList(config).map((c) => c.cluster)).toEqual([
      'prod-east',
      'prod-west',
      'prod-north',
      'prod-south',
      'staging-1',
    ]);
  });
});

describe('what travels in the state', () => {
  /** Every state of the definition, the maps' child definitions included, with its path. */
  function everyState(machine: AslStateMachine, path: string[] = []): Array<[string, AslState]> {
    return Object.entries(machine.States).flatMap(([name, s]) => [
      [[...path, name].join(' › '), s] as [string, AslState],
      ...(s.ItemProcessor ? everyState(s.ItemProcessor, [...path, name]) : []),
    ]);
  }
  /** Every `key.$: path` pair of a state's input shaping, at any depth. */
  function references(value: unknown, at = ''): Array<[string, string]> {
    if (!value || typeof value !== 'object') return [];
    return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) =>
      key.endsWith('.$') && typeof v === 'string'
        ? [[`${at}${key}`, v] as [string, string]]
        : references(v, `${at}${key}.`),
    );
  }
  const states = everyState(asl);
  const shaped = states.flatMap(([name, s]) =>
    (
      ['Parameters', 'ItemSelector', 'Payload', 'ItemBatcher', 'ItemReader', 'ResultSelector'] as const
    ).flatMap((field) => references(s[field]).map(([key, path]) => ({ state: name, field, key, path }))),
  );
  const fleetArray = /(^|\.)(clusters|findings)(\[|$)/;

  it('walks every state, the children’s included', () => {
    expect(states.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        STATE_NAMES.checkFleet,
        `${STATE_NAMES.checkFleet} › ${STATE_NAMES.check}`,
        `${STATE_NAMES.renewDue} › ${STATE_NAMES.notifyFailed}`,
        STATE_NAMES.notifyDigest,
      ]),
    );
    expect(shaped.length).toBeGreaterThan(8);
  });

  it('passes no clusters or findings array: the findings only as their object reference, to notify', () => {
    const offending = shaped.filter(
      ({ key, path }) => fleetArray.test(path) || /(^|\.)(clusters|findings)\.\$$/.test(key),
    );
    // The one exception: NotifyFindings' `findingsOf`, the summary's {bucket, key, count}.
    expect(offending).toEqual([
      { state: STATE_NAMES.notifyFindings, field: 'Parameters', key: 'findingsOf.$', path: '$.findings' },
    ]);
    // No input path or items path names them either.
    for (const [name, s] of states)
      for (const field of ['InputPath', 'ItemsPath', 'OutputPath', 'ResultPath'] as const)
        if (typeof s[field] === 'string') expect(s[field], `${name} ${field}`).not.toMatch(fleetArray);
  });

  it('is refused by the walk when a state passes a fleet array (the test can fail)', () => {
    const planted = { ...asl.States[STATE_NAMES.notifyDigest], Parameters: { 'alerts.$': '$.findings[0]' } };
    const found = references(planted.Parameters).filter(([, path]) => fleetArray.test(path));
    expect(found).toEqual([['alerts.$', '$.findings[0]']]);
    expect(fleetArray.test('$.clusters')).toBe(true);
    expect(fleetArray.test('$.findings.key')).toBe(false);
  });
});
