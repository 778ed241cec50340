/**
 * The report bucket (issue 19): the cluster list the check map reads (written here, at deploy, from
 * the bundled config), and each run's report, page, plan, findings, due list and outcomes. Encrypted
 * with the stack's key, public access blocked, TLS only, owner-enforced, and every run's objects
 * expire after `aws.reportRetentionDays`. Nothing in it is a secret (lambdas/domain/run/objects.ts).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CLUSTER_LIST_KEY, clusterList, RUNS_PREFIX } from '../lambdas/domain/run/objects';

export interface ReportBucketProps {
  readonly key: kms.IKey;
  readonly retentionDays: number;
  readonly clusters: ReadonlyArray<{ name: string }>;
  /** How long the deployment's own Lambda (CDK's BucketDeployment handler) keeps its logs. */
  readonly logRetention: logs.RetentionDays;
}

export class ReportBucket extends Construct {
  public readonly bucket: s3.Bucket;
  /** Writes config/clusters.json at each deploy (the check map's ItemReader reads it). */
  public readonly clusterList: s3deploy.BucketDeployment;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: ReportBucketProps) {
    super(scope, id);
    this.key = props.key;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      // One data key per bucket, not per object: KMS requests (and their cost) stay flat at fleet scale.
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'ExpireRuns', prefix: RUNS_PREFIX, expiration: Duration.days(props.retentionDays) },
        { id: 'AbortUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // Reports are evidence for auditors: a stack deletion leaves them (and their lifecycle) in place.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.clusterList = new s3deploy.BucketDeployment(this, 'ClusterList', {
      sources: [s3deploy.Source.jsonData(CLUSTER_LIST_KEY.split('/').pop() as string, clusterList(props))],
      destinationBucket: this.bucket,
      destinationKeyPrefix: `${CLUSTER_LIST_KEY.split('/').slice(0, -1).join('/')}/`,
      // Only the list is managed here: the runs' objects are never touched by a deploy.
      prune: false,
      retainOnDelete: true,
      memoryLimit: 256,
      // CDK's handler logs to a group of ours, kept as long as the functions' logs.
      logGroup: new logs.LogGroup(this, 'ClusterListLogs', { retention: props.logRetention }),
    });
  }

  /**
   * Lets a function read and/or write objects under the given key patterns, and use the stack's key
   * for them only through S3 (kms:ViaService), never directly.
   */
  grantObjects(grantee: iam.IGrantable, access: { read?: string[]; write?: string[] }): void {
    const arns = (patterns: string[]) => patterns.map((p) => this.bucket.arnForObjects(p));
    const kmsActions: string[] = [];
    if (access.read?.length) {
      iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: arns(access.read) });
      kmsActions.push('kms:Decrypt');
    }
    if (access.write?.length) {
      iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: arns(access.write) });
      kmsActions.push('kms:GenerateDataKey');
    }
    if (kmsActions.length)
      iam.Grant.addToPrincipal({
        grantee,
        actions: kmsActions,
        resourceArns: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.bucket.stack.region}.amazonaws.com` } },
      });
  }
}
