/**
 * The AWS state the executed state machine's handlers use in the tests, on loopback: DynamoDB is
 * dynalite (the npm implementation of DynamoDB's API, conditional writes included) behind a small
 * proxy that counts calls and can refuse them as DynamoDB would (AccessDeniedException, a missing
 * table, throttling); keys are sealed by a KMS stand-in; the state secrets of earlier versions live
 * in a Secrets Manager stand-in. One table per state directory, so runs of one test world share their
 * state as the CLI's runs share a directory.
 *
 * Started once per test process, on first use. What a bundle needs to use the same backend from a
 * fresh Node process is `env(table)`: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS,
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, STATE_TABLE_NAME, STATE_KMS_KEY_ID, STATE_SECRET_PREFIX, a
 * region and test credentials.
 */
import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import dynalite from 'dynalite';
import { DynamoDbClient, dynamoDbState, stateTableDefinition } from '../../lambdas/adapters/dynamodb';
import { KmsKeySealer } from '../../lambdas/adapters/kms';
import { SecretsManagerLegacyState } from '../../lambdas/adapters/secrets-manager/legacy-state';
import { type StatePorts, StateStore, type StateStoreOptions } from '../../lambdas/domain/state';
import { type KmsStandIn, startKmsStandIn } from './kms-stand-in';
import { type SecretsManagerStandIn, startSecretsManagerStandIn } from './secrets-manager-stand-in';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIDTESTSTATE', secretAccessKey: 'test-secret' };
/** The prefix the state secrets of earlier versions lived under (the construct's default, test stack). */
export const LEGACY_PREFIX = 'rs-cert-watchdog/RsCertWatchdog';

export interface DynamoDbFault {
  table?: string;
  operation?: string;
  /** Only requests whose body matches (e.g. /"S":"locks\//: the lock items). */
  body?: RegExp;
  error: string;
  status?: number;
  times?: number;
}

export interface StateBackend {
  /** The DynamoDB endpoint (the proxy in front of dynalite). */
  dynamodbUrl: string;
  kms: KmsStandIn;
  secretsManager: SecretsManagerStandIn;
  /** Every DynamoDB call that reached the proxy: operation, table, the item's partition, the request's size in bytes. */
  calls: Array<{ operation: string; table: string; partition: string; bytes: number }>;
  refuse(fault: DynamoDbFault): void;
  clearFaults(): void;
  /** Creates the table unless it exists. */
  createTable(name: string): Promise<void>;
  client(): DynamoDbClient;
  ports(table: string, options?: { keys?: boolean }): StatePorts;
  store(table: string, options?: StateStoreOptions & { keys?: boolean }): StateStore;
  /** The reader of the state secrets of version 0.1, in the Secrets Manager stand-in. */
  legacy(prefix?: string): SecretsManagerLegacyState;
  /** The environment a Lambda bundle needs to use this backend for `table`. */
  env(table: string): Record<string, string>;
  /** Stops its servers (a world's backend, with the world). */
  close(): Promise<void>;
}

/**
 * The partition key a state request names, as the adapter writes it (lambdas/adapters/dynamodb): the
 * item's `pk` (GetItem, PutItem, DeleteItem) or a Query's `:p`; undefined for anything else.
 */
export function partitionOf(input: Record<string, unknown>): string | undefined {
  const key = (input.Key ?? input.Item) as { pk?: { S?: string } } | undefined;
  const values = input.ExpressionAttributeValues as Record<string, { S?: string }> | undefined;
  return key?.pk?.S ?? values?.[':p']?.S;
}

/** The table of a state directory: one per test world. */
export function tableFor(stateDir: string): string {
  return `rs-cert-watchdog-${createHash('sha256').update(stateDir).digest('hex').slice(0, 16)}`;
}

let shared: Promise<StateBackend> | undefined;

export function stateBackend(): Promise<StateBackend> {
  shared ??= startStateBackend();
  return shared;
}

/**
 * A backend of its own (the executed state machine starts one per test world, whose key is the
 * deployment's: `kmsKeyId`).
 */
export async function startStateBackend(options: { kmsKeyId?: string } = {}): Promise<StateBackend> {
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => db.listen(0, '127.0.0.1', () => resolve()));
  db.unref();
  const dbPort = (db.address() as AddressInfo).port;
  const calls: StateBackend['calls'] = [];
  const faults: Array<DynamoDbFault & { times: number }> = [];
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      let table = '';
      let partition = '';
      const text = body.toString('utf8');
      try {
        const input = JSON.parse(text || '{}') as Record<string, unknown>;
        table = String(input.TableName ?? '');
        partition = partitionOf(input) ?? '';
      } catch {
        // dynalite answers the malformed body itself
      }
      calls.push({ operation, table, partition, bytes: body.length });
      const fault = faults.find(
        (f) =>
          f.times > 0 &&
          (!f.table || f.table === table) &&
          (!f.operation || f.operation === operation) &&
          (!f.body || f.body.test(text)),
      );
      if (fault) {
        fault.times--;
        res.writeHead(fault.status ?? 400, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-errortype': fault.error,
        });
        res.end(
          JSON.stringify({
            __type: `com.amazonaws.dynamodb.v20120810#${fault.error}`,
            message: 'refused by the test',
          }),
        );
        return;
      }
      const forward = request(
        { host: '127.0.0.1', port: dbPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  proxy.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxy.unref();
  const dynamodbUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const kms = await startKmsStandIn(options.kmsKeyId);
  const secretsManager = await startSecretsManagerStandIn();
  const created = new Set<string>();
  const client = () =>
    new DynamoDbClient({ endpoint: dynamodbUrl, region: REGION, credentials: () => CREDENTIALS });
  const sealer = () =>
    new KmsKeySealer({
      keyId: kms.keyId,
      client: new KMSClient({ endpoint: kms.url, region: REGION, credentials: CREDENTIALS }),
    });

  const backend: StateBackend = {
    dynamodbUrl,
    kms,
    secretsManager,
    calls,
    refuse: (fault) => faults.push({ ...fault, times: fault.times ?? Number.POSITIVE_INFINITY }),
    clearFaults: () => {
      faults.length = 0;
    },
    async createTable(name) {
      if (created.has(name)) return;
      try {
        await client().send('CreateTable', stateTableDefinition(name));
      } catch (error) {
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      }
      created.add(name);
    },
    client,
    ports: (table, options = {}) =>
      dynamoDbState({
        client: client(),
        tableName: table,
        ...(options.keys === false ? {} : { sealer: sealer() }),
      }),
    store: (table, options = {}) => {
      const { keys, ...rest } = options;
      return new StateStore(backend.ports(table, { keys: keys ?? true }), rest);
    },
    legacy: (prefix = LEGACY_PREFIX) =>
      new SecretsManagerLegacyState({
        prefix,
        client: new SecretsManagerClient({
          endpoint: secretsManager.url,
          region: REGION,
          credentials: CREDENTIALS,
        }),
      }),
    env: (table) => ({
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl,
      AWS_ENDPOINT_URL_KMS: kms.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
      STATE_TABLE_NAME: table,
      STATE_KMS_KEY_ID: kms.keyId,
      STATE_SECRET_PREFIX: LEGACY_PREFIX,
    }),
    async close() {
      proxy.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => proxy.close(() => resolve())),
        new Promise<void>((resolve) => db.close(() => resolve())),
        kms.close(),
        secretsManager.close(),
      ]);
    },
  };
  return backend;
}
