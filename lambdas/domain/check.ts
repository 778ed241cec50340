/** `check`: read every cluster's certificates side by side and decide, never writing to a cluster. */

import { EKU_CLIENT_AUTH, inspectChainPem, parseCertificateChain } from './certificate';
import {
  CLIENT_CERTIFICATE,
  DATABASE_PREFIX,
  databaseCertificateName,
  databaseUid,
  managedSettings,
} from './certificate-kinds';
import { mapWithConcurrency } from './concurrency';
import type { ClusterConfig, WatchdogConfig } from './config/types';
import {
  BadResponseError,
  DatabaseCertificateMissingError,
  DatabaseCertificatesUnavailableError,
  DatabaseNotFoundError,
  toErrorInfo,
} from './errors';
import type { ClientCertificatePair, ClusterAccess, ClusterConnector, CredentialsProvider } from './ports';
import { describePushApi, versionAtLeast } from './renewal/push';
import { annotateManaged, type RenewalInfoDependencies, renewalInfoForRun } from './renewal/renewal-info';
import { annotateWindows, windowsFor } from './renewal/windows';
import { type CertificateReport, type ClusterReport, type FleetReport, inspectCertificate } from './report';
import {
  ClusterCertificateSet,
  openRsClient,
  type RsClient,
  type RsDatabase,
  type RsDatabaseCertificate,
  type RsNode,
} from './rs/client';
import { connectionFor } from './rs/connection';

export interface CheckDependencies {
  credentials: CredentialsProvider;
  connect: ClusterConnector;
  now?: () => Date;
  /** PEM trusted in addition to public roots and the cluster CA (the ACME CA's roots). */
  acmeTrustPem?: string;
  /** ACME Renewal Information (RFC 9773) for managed ACME certificates; without it, the lifetime policy alone. */
  renewalInfo?: RenewalInfoDependencies;
}

/**
 * Reads one cluster: its certificates, its nodes, and on RS 8.x its databases' own certificates
 * (`bdb:<uid>`), plus the watchdog's own client certificate (`client`) when it logs in with one.
 * Never throws: a cluster that cannot be read is a report with `error` (and the `client` row, which
 * is read locally: an expired client certificate is often why the cluster cannot be read).
 */
export async function checkCluster(
  config: Pick<WatchdogConfig, 'renewBeforeDays' | 'acme' | 'maintenanceWindows'>,
  cluster: ClusterConfig,
  deps: CheckDependencies,
): Promise<ClusterReport> {
  let client: RsClient | undefined;
  let access: ClusterAccess | undefined;
  const now = (deps.now ?? (() => new Date()))();
  try {
    access = await deps.credentials.resolve(cluster);
    client = openRsClient(deps.connect, connectionFor(cluster, access, deps.acmeTrustPem));
    const clusterSet = await client.getCertificates();
    const reserved = clusterSet
      .names()
      .filter((n) => n === CLIENT_CERTIFICATE || n.startsWith(DATABASE_PREFIX));
    if (reserved.length > 0)
      throw new BadResponseError(
        `cluster "${cluster.name}": GET /v1/cluster/certificates named ${reserved.map((n) => `"${n}"`).join(', ')}, which RS never names (the watchdog's own rows are called so)`,
        {
          status: 200,
          hint: 'the endpoint is not an RS REST API; if a newer RS names such a certificate, report it',
        },
      );
    const nodes = await client.getNodes().catch(() => null);
    const databases = await databaseInventory(cluster, client, nodes);
    const set = clusterSet.extend({ ...databases.fields, ...clientFields(access.clientCertificate) });
    const report = reportFor(config, cluster, set, now);
    report.certificates.push(...databaseRows(config, cluster, set, databases, now));
    const clientRow = clientCertificateRow(config, cluster, set, now);
    if (clientRow) report.certificates.push(clientRow);
    await annotateManaged(config, cluster, set, report, now, deps.renewalInfo);
    // The client certificate is written locally, never pushed: maintenance windows do not hold it.
    annotateWindows(
      { certificates: report.certificates.filter((c) => c.name !== CLIENT_CERTIFICATE) },
      windowsFor(config, cluster),
      now,
    );
    const versions = nodes
      ? await describePushApi(cluster, { getNodes: async () => nodes })
      : ({} as Awaited<ReturnType<typeof describePushApi>>);
    return {
      ...report,
      checkedAt: now.toISOString(),
      ...versions,
      ...(databases.api === undefined ? {} : { databaseCertificatesApi: databases.api }),
      ...(databases.error ? { databaseError: databases.error } : {}),
    };
  } catch (error) {
    const set = new ClusterCertificateSet(clientFields(access?.clientCertificate));
    const clientRow = clientCertificateRow(config, cluster, set, now);
    return { name: cluster.name, error: toErrorInfo(error), certificates: clientRow ? [clientRow] : [] };
  } finally {
    client?.close();
  }
}

/** The first RS version asked for per-database certificates (their first version is unconfirmed). */
export const DATABASE_CERTIFICATES_SINCE = [8, 0, 0] as const;

interface DatabaseInventory {
  /** `bdb:<uid>_cert` fields, for the report's rows. */
  fields: Record<string, unknown>;
  listed: RsDatabaseCertificate[];
  /** The databases (names, existence), when they could be read. */
  databases: RsDatabase[] | null;
  /** true: listed; false: the cluster has no such endpoint (404) or runs RS 7.x only; undefined: not asked. */
  api: boolean | undefined;
  error?: ReturnType<typeof toErrorInfo>;
}

/**
 * GET /v1/bdbs/certificates (every page) and GET /v1/bdbs (names), on clusters that may have them:
 * any node on RS 8.0 or later, or versions unknown, or databases listed under `databases`. A
 * cluster running RS 7.x only is not asked (one request fewer per check). A failed listing is the
 * cluster's `databaseError`; its other certificates are still reported.
 */
async function databaseInventory(
  cluster: ClusterConfig,
  client: RsClient,
  nodes: RsNode[] | null,
): Promise<DatabaseInventory> {
  const configured = Object.keys(cluster.databases ?? {}).length > 0;
  const maybe8 =
    nodes === null ||
    nodes.length === 0 ||
    nodes.some(
      (n) => n.softwareVersion === null || versionAtLeast(n.softwareVersion, DATABASE_CERTIFICATES_SINCE),
    );
  if (!maybe8 && !configured) return { fields: {}, listed: [], databases: null, api: undefined };
  let listed: RsDatabaseCertificate[] | null;
  try {
    listed = await client.listDatabaseCertificates();
  } catch (error) {
    return { fields: {}, listed: [], databases: null, api: true, error: toErrorInfo(error) };
  }
  if (listed === null) return { fields: {}, listed: [], databases: null, api: false };
  const databases = listed.length > 0 || configured ? await client.listDatabases().catch(() => null) : null;
  const fields: Record<string, unknown> = {};
  for (const item of listed) fields[`${databaseCertificateName(item.bdbUid)}_cert`] = item.field;
  return { fields, listed, databases, api: true };
}

function clientFields(pair: ClientCertificatePair | undefined): Record<string, unknown> {
  return pair
    ? { [`${CLIENT_CERTIFICATE}_cert`]: pair.certificatePem, [`${CLIENT_CERTIFICATE}_key`]: pair.keyPem }
    : {};
}

/**
 * One row per database certificate listed, with the database's name; and one per database listed
 * under `databases` that has none: installed by the next renewal when the database exists, alerted
 * on when it does not or when the cluster serves no per-database certificates.
 */
function databaseRows(
  config: Pick<WatchdogConfig, 'renewBeforeDays'>,
  cluster: ClusterConfig,
  set: ClusterCertificateSet,
  inventory: DatabaseInventory,
  now: Date,
): CertificateReport[] {
  const named = (uid: string) => ({
    uid,
    name: inventory.databases?.find((d) => d.uid === uid)?.name ?? null,
  });
  const rows = inventory.listed.map((item) => {
    const name = databaseCertificateName(item.bdbUid);
    return {
      ...inspectCertificate(name, set, {
        now,
        renewBeforeDays: config.renewBeforeDays,
        managed: managedSettings(cluster, name) !== undefined,
      }),
      database: named(item.bdbUid),
    };
  });
  if (inventory.error) return rows;
  for (const uid of Object.keys(cluster.databases ?? {})) {
    if (inventory.listed.some((item) => item.bdbUid === uid)) continue;
    const name = databaseCertificateName(uid);
    const exists = inventory.databases === null ? null : inventory.databases.some((d) => d.uid === uid);
    const error =
      inventory.api !== true
        ? new DatabaseCertificatesUnavailableError(
            `cluster "${cluster.name}" does not serve per-database certificates (${inventory.api === false ? 'GET /v1/bdbs/certificates answered 404' : 'every node runs RS 7.x'}), so database ${uid} cannot get one`,
            {
              hint: "per-database certificates need RS 8.x; until then the database is served the cluster's proxy certificate",
            },
          )
        : exists === false
          ? new DatabaseNotFoundError(`cluster "${cluster.name}" has no database ${uid} (GET /v1/bdbs)`, {
              hint: 'check the uid under "databases" against GET /v1/bdbs',
            })
          : new DatabaseCertificateMissingError(
              `database ${uid} has no certificate of its own (it is served the cluster's proxy certificate); the next renewal installs one`,
              { hint: 'nothing to do: renew (or wait for the schedule) installs it' },
            );
    rows.push({
      ...inspectCertificate(name, set, { now, renewBeforeDays: config.renewBeforeDays, managed: true }),
      error: toErrorInfo(error),
      database: named(uid),
    });
  }
  return rows;
}

/**
 * The client certificate's leaf PEM of each `client` row, for the plan to hand to its renewal
 * (DueCertificate.sameSubjectAs): the report itself carries no PEM.
 */
const clientLeaves = new WeakMap<CertificateReport, string>();

export function clientLeafOf(row: CertificateReport): string | undefined {
  return clientLeaves.get(row);
}

/**
 * The watchdog's own client certificate as a row of the cluster (`client`): managed when
 * `clientCertificate.issuer` names a private CA. Warned about when it lacks clientAuth, or when the
 * cluster's mtls_trusted_ca (if it answered one) did not issue it.
 */
function clientCertificateRow(
  config: Pick<WatchdogConfig, 'renewBeforeDays'>,
  cluster: ClusterConfig,
  set: ClusterCertificateSet,
  now: Date,
): CertificateReport | undefined {
  const pem = set.certificate(CLIENT_CERTIFICATE);
  if (!cluster.clientCertificate || pem === undefined) return undefined;
  const row = inspectCertificate(CLIENT_CERTIFICATE, set, {
    now,
    renewBeforeDays: config.renewBeforeDays,
    managed: managedSettings(cluster, CLIENT_CERTIFICATE) !== undefined,
  });
  if (row.status === 'invalid') return row;
  const leaf = parseCertificateChain(pem)[0]?.toString();
  const warnings: string[] = [];
  const details = inspectChainPem(pem);
  if (details.extKeyUsage.length > 0 && !details.extKeyUsage.includes(EKU_CLIENT_AUTH))
    warnings.push(`${cluster.name}/client lacks the clientAuth usage: RS refuses it for certificate login`);
  const trusted = set.certificate('mtls_trusted_ca');
  if (trusted !== undefined && !issuedByOneOf(pem, trusted))
    warnings.push(
      `${cluster.name}/client was not issued by a CA of the cluster's mtls_trusted_ca: RS refuses it for certificate login`,
    );
  const result = warnings.length ? { ...row, warnings } : row;
  if (leaf) clientLeaves.set(result, leaf);
  return result;
}

/** Whether the chain of `pem` ends at (or under) a certificate of `caBundle`. */
function issuedByOneOf(pem: string, caBundle: string): boolean {
  try {
    const chain = parseCertificateChain(pem);
    const cas = parseCertificateChain(caBundle);
    return chain.some((cert) =>
      cas.some(
        (ca) =>
          cert.fingerprint256 === ca.fingerprint256 || (cert.checkIssued(ca) && cert.verify(ca.publicKey)),
      ),
    );
  } catch {
    return false;
  }
}

export function reportFor(
  config: Pick<WatchdogConfig, 'renewBeforeDays'>,
  cluster: ClusterConfig,
  set: ClusterCertificateSet,
  now: Date,
): ClusterReport {
  // The cluster's own certificates; database and client rows are added by checkCluster.
  const names = set.names().filter((n) => n !== CLIENT_CERTIFICATE && databaseUid(n) === null);
  const certificates = names.map((name) =>
    inspectCertificate(name, set, {
      now,
      renewBeforeDays: config.renewBeforeDays,
      managed: Object.hasOwn(cluster.certificates, name),
    }),
  );
  // A configured certificate the cluster does not have is a configuration mistake worth showing.
  for (const name of Object.keys(cluster.certificates)) {
    if (!names.includes(name)) {
      certificates.push({
        ...inspectCertificate(name, set, { now, renewBeforeDays: config.renewBeforeDays, managed: true }),
        error: {
          name: 'UnknownCertificateError',
          message: `certificate "${name}" is configured but the cluster has no ${name}_cert`,
          hint: 'check the certificate name against GET /v1/cluster/certificates',
        },
      });
    }
  }
  return { name: cluster.name, error: null, certificates };
}

export async function checkFleet(config: WatchdogConfig, deps: CheckDependencies): Promise<FleetReport> {
  // ARI for this run: none with acme.ari false; else a fresh circuit breaker (one timeout per run).
  const renewalInfo = renewalInfoForRun(config, deps.renewalInfo);
  const { renewalInfo: _configured, ...rest } = deps;
  const run: CheckDependencies = { ...rest, ...(renewalInfo ? { renewalInfo } : {}) };
  const clusters = await mapWithConcurrency(config.clusters, config.concurrency, (cluster) =>
    checkCluster(config, cluster, run),
  );
  return { generatedAt: (deps.now ?? (() => new Date()))().toISOString(), clusters };
}
