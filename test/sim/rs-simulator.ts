// A Redis Enterprise Software cluster REST API (the :9443 one) for tests, the demo
// and benchmarks. It reproduces what a certificate watchdog can observe: the
// certificate set in CCS, the certificate each node really has on disk, the
// certificate each listener really serves, RS's validation order and status
// codes, and the network/cluster failures a renewal has to survive.
//
// It never writes anything to stdout/stderr: the GET payload holds private keys.
import { createPrivateKey, type KeyObject, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { createCa, type ExtKeyUsageName, issueCert, type KeyKind, type TestCa } from '../support/pki';

export const defaultCertificateNames = [
  'api',
  'cm',
  'proxy',
  'syncer',
  'metrics_exporter',
  'ldap_client',
] as const;

/** RS refuses to delete these (403); every other certificate is optional. */
export const requiredCertificateNames: readonly string[] = [
  'api',
  'cm',
  'proxy',
  'syncer',
  'metrics_exporter',
];

/** Certificates a node presents on a listening socket: they get localhost and node IP SANs by default. */
const SERVED_CERTIFICATES: ReadonlySet<string> = new Set(['api', 'cm', 'proxy']);

export interface SimCertificateSpec {
  /** Default `<name>.cluster.local` (underscores become hyphens); served certificates also get `localhost`. */
  dnsNames?: string[];
  /** Default for api/cm/proxy: 127.0.0.1 and every node address; none for the others. */
  ipAddresses?: string[];
  notBefore?: Date;
  notAfter?: Date;
  keyKind?: KeyKind;
  extKeyUsage?: ExtKeyUsageName[];
  freshKey?: boolean;
  /** Install this pair verbatim (no validation at all); both must be given. certPem may be a chain. */
  certPem?: string;
  keyPem?: string;
  /**
   * RS 8.x: a certificate that comes without a key (`mtls_trusted_ca`, `sso_issuer`): GET answers
   * only its `<name>_cert`. With `certPem` alone it is installed verbatim (a CA bundle).
   */
  keyless?: boolean;
}

export interface RsSimulatorOptions {
  /** Number of nodes, default 3. Node i (1-based) has address 127.0.0.(i+1). */
  nodes?: number;
  username?: string;
  password?: string;
  /** Share one CA between simulators (cheap start-up for benchmarks). */
  ca?: TestCa;
  /** Replaces the default certificate set entirely when given. */
  certificates?: Record<string, SimCertificateSpec>;
  /** Added before every API response; also settable later through `sim.latencyMs`. */
  latencyMs?: number;
  /** Default true: each node listens with TLS on its own address, same port as the endpoint. */
  nodeListeners?: boolean;
  /** Default false: each node also serves its cm and proxy certificates on `cmPort` / `proxyPort`. */
  servicePorts?: boolean;
  /**
   * `software_version` of every node (GET /v1/nodes), default `7.4.2-54`. PUT
   * /v1/cluster/certificates exists only when every node runs 7.22.2 or later.
   */
  softwareVersion?: string;
  /** Per-node override of `softwareVersion`, by node uid (1-based): a mixed-version cluster. */
  nodeSoftwareVersions?: Record<number, string>;
  /** Active-Active databases listed by GET /v1/crdbs; also settable later through `setCrdbs`. */
  crdbs?: SimCrdb[];
  /** How a CRDB update task progresses, for every GUID without its own `setCrdbTaskBehaviour`. */
  crdbTask?: CrdbTaskBehaviour;
  /** Clock for certificate validity checks and default lifetimes. */
  now?: () => number;
  // ---- RS 8.x (rs8) ----
  /** The cluster's databases (GET /v1/bdbs), each optionally with its own proxy certificate. */
  databases?: SimDatabase[];
  /**
   * Whether the per-database certificate routes exist (GET /v1/bdbs/certificates, GET/POST/DELETE
   * /v1/bdbs/{uid}/certificates). Their first RS version is unconfirmed: by default they exist when
   * every node runs 8.0 or later, and answer 404 (no such route) before.
   */
  databaseCertificatesApi?: boolean;
  /** `control_plane_basic_authentication` (RS 8.2.0+): false makes every Basic request a 401. Default true. */
  basicAuthentication?: boolean;
  /**
   * REST API certificate login (RS 7.8.4+, `mtls_certificate_authentication`): a client certificate
   * issued by a CA of `mtls_trusted_ca`, valid, with clientAuth, whose subject is a certificate
   * user's `certificate_subject_line`, authenticates without an Authorization header.
   */
  certificateAuthentication?: SimCertificateAuthentication;
  /**
   * RS 8.2.0+: uploads are checked against the configured cipher suites (OpenSSL names, `:`-joined):
   * control-plane certificates (api, cm, metrics_exporter) against `control`, proxy against `data`.
   * An ECDSA key with no ECDSA suite (or RSA with only ECDSA suites) is refused with 400.
   */
  cipherSuites?: { control?: string; data?: string };
}

/** A database of the cluster, as GET /v1/bdbs shows it. */
export interface SimDatabase {
  uid: number;
  name: string;
  /** Its own proxy certificate (per-database); absent or null: none (it is served the cluster's proxy). */
  certificate?: SimCertificateSpec | null;
  /** Default `enabled`. */
  tlsMode?: 'enabled' | 'disabled' | 'replica_ssl';
  /**
   * Default true: its endpoint listens with TLS on 127.0.0.1 (a port of its own, reported in
   * `endpoints`), serving its own certificate, else the cluster's proxy certificate.
   */
  listen?: boolean;
}

export interface SimCertificateAuthentication {
  /** `mtls_client_cert_subject_validation_type`; default `full_subject`. */
  subjectValidation?: 'disabled' | 'san_cn' | 'full_subject';
  /** Users with `auth_method: certificate`: their `certificate_subject_line` (RFC 2253, CN first). */
  users: string[];
}

/** A database's own certificate, as GET /v1/bdbs/{uid}/certificates answers it. */
export interface SimDatabaseCertificate {
  bdbUid: string;
  certPem: string;
  keyPem: string;
  fingerprint256: string;
  notBefore: string;
  notAfter: string;
}

export type FaultMethod = 'GET' | 'PUT' | 'DELETE' | 'POST';

/**
 * One fault shapes at most one answer. Faults only meet authenticated requests
 * (a 401 never consumes one) and are matched after `latencyMs`. `partial-update`
 * is taken only by a PUT that passed validation; every other kind is taken on
 * arrival, before routing, and changes nothing (a `status` body given as a string
 * is sent verbatim as text/plain). `hang` and `malformed-json` cut the answer the
 * route would have given (GET certificates / nodes / crdbs / crdb task) or `{}` otherwise.
 * A `partial-update` fault matches PUT /v1/cluster/update_cert and the bulk PUT
 * /v1/cluster/certificates alike (narrow it with `path`); a bulk PUT it meets puts
 * every certificate of the request on the first `updateNodes` nodes and none on the
 * others. A 405 for the bulk route is a plain `status` fault.
 */
export type Fault = {
  method?: FaultMethod;
  /** Exact request path (no query string); default: any path. */
  path?: string;
  /** Exact query string without `?` (`dry_run=true`, `''` for none); default: any. */
  query?: string;
  /** Default 1; Infinity = forever. */
  times?: number;
} & (
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'partial-update'; updateNodes?: number }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'malformed-json' }
  | { kind: 'delay'; ms: number }
);

export type FaultKind = Fault['kind'];

export interface RsRequestLogEntry {
  method: string;
  path: string;
  /** Status line sent; 0 while pending or when the socket was reset without an answer. */
  status: number;
  authorized: boolean;
  /** The fault that shaped this answer, if any. */
  fault?: FaultKind;
  /** PUT /v1/cluster/update_cert only. */
  putName?: string;
  /** Leaf of the PUT certificate, when it parses. Keys are never recorded. */
  putFingerprint256?: string;
  /**
   * PUT /v1/cluster/certificates (bulk) only: the certificates of the request in its
   * order, whatever the answer (also a 404 from a pre-7.22.2 cluster). Keys are never recorded.
   */
  putCertificates?: RsBulkPutCertificate[];
  /** POST /v1/crdbs/{guid}/updates only: the GUID from the path. */
  crdbGuid?: string;
  /** POST /v1/crdbs/{guid}/updates only: `force_update` of the body, when it is a boolean. */
  forceUpdate?: boolean;
  /** POST /v1/crdbs/{guid}/updates only: the task created (200) or the one still running (409). */
  crdbTaskId?: string;
  /** The query string, without `?`; absent when none. */
  query?: string;
  /** `certificate` when a client certificate authenticated the request (absent: Basic, or none). */
  authMethod?: 'certificate';
  /** The leaf of the client certificate presented on the connection, if any. */
  clientCertificate?: string;
  /** POST /v1/bdbs/{uid}/certificates only: the certificate's leaf, when it parses (never the key). */
  postFingerprint256?: string;
}

export interface RsBulkPutCertificate {
  /** `name` of the entry; `''` when it is not a string. */
  name: string;
  /** Leaf of the entry's certificate, when it parses. */
  fingerprint256?: string;
}

/** An Active-Active database as GET /v1/crdbs lists it; any other field is returned verbatim. */
export interface SimCrdb {
  guid: string;
  name: string;
  [field: string]: unknown;
}

export type CrdbTaskStatus = 'queued' | 'started' | 'finished' | 'failed';

/** One entry of a failed CRDB task's `errors`, as RS shapes it. */
export interface SimCrdbTaskError {
  cluster_name?: string;
  error_code: string;
  description: string;
}

/**
 * A task answers `queued` to the POST that creates it; then GET /v1/crdb_tasks/{id}
 * number 1..queuedPolls answers `queued`, the next `startedPolls` answer `started`, and
 * every later one the terminal `outcome`. Only polls advance a task: one nobody polls
 * stays running (and blocks further updates of its GUID with 409).
 */
export interface CrdbTaskBehaviour {
  /** Default 0. */
  queuedPolls?: number;
  /** Default 1. */
  startedPolls?: number;
  /** Default `finished`. */
  outcome?: 'finished' | 'failed';
  /** `errors` of a failed task; default one `crdb_update_failed` error naming the GUID. */
  errors?: SimCrdbTaskError[];
}

/** A snapshot of a CRDB task, with the number of polls it has answered. */
export interface SimCrdbTask {
  id: string;
  crdb_guid: string;
  status: CrdbTaskStatus;
  errors?: SimCrdbTaskError[];
  polls: number;
}

export interface SimCertificate {
  /** As stored in CCS: the full chain as installed. */
  certPem: string;
  keyPem: string;
  /** Of the leaf; empty when the stored PEM does not parse. */
  fingerprint256: string;
}

export interface SimNode {
  uid: number;
  addr: string;
  softwareVersion: string;
  /** Certificate name → leaf fingerprint256 of what this node has on disk. */
  certificates: Record<string, string>;
}

export interface RsSimulator {
  readonly url: string;
  readonly port: number;
  readonly cmPort: number | undefined;
  readonly proxyPort: number | undefined;
  /** The root an operator pins. */
  readonly caPem: string;
  /** The simulator's CA, to issue replacement certificates from in tests. */
  readonly ca: TestCa;
  readonly username: string;
  readonly password: string;
  latencyMs: number;
  /** Mutable on purpose: tests may clear it with `sim.requests.length = 0`. */
  readonly requests: RsRequestLogEntry[];
  /** Snapshot of every node's on-disk certificates. */
  readonly nodes: SimNode[];
  certificate(name: string): SimCertificate | undefined;
  setPassword(password: string): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /**
   * Overrides one raw field of the GET /v1/cluster/certificates answer (e.g. `proxy_cert`) with any
   * JSON value (a string, or a wrong shape such as `42`, `null`, `{}`); `undefined` drops the field.
   * CCS, nodes and served certificates are unaffected; a later successful PUT or DELETE of that
   * certificate clears its overrides.
   */
  setCertificateField(field: string, raw: unknown): void;
  /** Sets one node's `software_version` (by uid), or every node's when `nodeUid` is omitted. */
  setSoftwareVersion(version: string, nodeUid?: number): void;
  /** True when every node runs 7.22.2+, i.e. PUT /v1/cluster/certificates is served (not 404). */
  readonly bulkCertificatesApi: boolean;
  /** A copy of the Active-Active databases GET /v1/crdbs lists. */
  readonly crdbs: SimCrdb[];
  setCrdbs(crdbs: SimCrdb[]): void;
  /** How the next update tasks of `guid` progress; `undefined` returns it to `opts.crdbTask`. */
  setCrdbTaskBehaviour(guid: string, behaviour: CrdbTaskBehaviour | undefined): void;
  /** Every CRDB task created so far, oldest first (snapshots). */
  readonly crdbTasks: SimCrdbTask[];
  crdbTask(id: string): SimCrdbTask | undefined;
  /** The `requests` entries of POST /v1/crdbs/{guid}/updates, whatever their answer (401, 404, 409...). */
  readonly crdbUpdates: RsRequestLogEntry[];
  // ---- RS 8.x (rs8) ----
  /** Whether the per-database certificate routes exist (see `opts.databaseCertificatesApi`). */
  readonly databaseCertificatesApi: boolean;
  /** A database's own certificate (key included, for tests), or undefined when it has none. */
  databaseCertificate(uid: number): SimDatabaseCertificate | undefined;
  /** Installs (a spec is issued by the simulator's CA) or removes (null) a database's own certificate. */
  setDatabaseCertificate(uid: number, spec: SimCertificateSpec | null): Promise<void>;
  /** Where a database's endpoint listens (127.0.0.1), when it does. */
  databaseEndpoint(uid: number): { host: string; port: number; dnsAddress: string } | undefined;
  /** `control_plane_basic_authentication` from now on. */
  setBasicAuthentication(enabled: boolean): void;
  setCertificateAuthentication(settings: SimCertificateAuthentication | undefined): void;
  close(): Promise<void>;
}

interface StoredCert {
  certPem: string;
  /** `''` for a certificate that comes without a key (mtls_trusted_ca, sso_issuer). */
  keyPem: string;
  fingerprint256: string;
}

interface DatabaseState {
  uid: number;
  name: string;
  tlsMode: 'enabled' | 'disabled' | 'replica_ssl';
  certificate: StoredCert | undefined;
  listen: boolean;
  port: number | undefined;
}

interface NodeState {
  uid: number;
  addr: string;
  softwareVersion: string;
  certs: Map<string, StoredCert>;
}

interface CrdbTaskState {
  id: string;
  guid: string;
  behaviour: Required<CrdbTaskBehaviour>;
  polls: number;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
}

interface Listener {
  server: HttpsServer;
  /** What this listener should present now; undefined means the bootstrap certificate. */
  wanted: () => StoredCert | undefined;
  applied: StoredCert | undefined;
}

interface PendingFault {
  fault: Fault;
  remaining: number;
}

interface TlsPair {
  cert: string;
  key: string;
}

const DAY_MS = 86_400_000;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_BIND_ATTEMPTS = 30;
const CERTIFICATES_PATH = '/v1/cluster/certificates';
const UPDATE_CERT_PATH = '/v1/cluster/update_cert';
const DEFAULT_SOFTWARE_VERSION = '7.4.2-54';
/** The first RS version with PUT /v1/cluster/certificates. */
const BULK_CERTIFICATES_SINCE: readonly [number, number, number] = [7, 22, 2];
const CRDB_UPDATES_RE = /^\/v1\/crdbs\/([^/]+)\/updates$/;
const CRDB_RE = /^\/v1\/crdbs\/([^/]+)$/;
const CRDB_TASK_RE = /^\/v1\/crdb_tasks\/([^/]+)$/;
const BDBS_PATH = '/v1/bdbs';
const BDB_CERTIFICATES_PATH = '/v1/bdbs/certificates';
const BDB_RE = /^\/v1\/bdbs\/(\d+)$/;
const BDB_CERTIFICATE_RE = /^\/v1\/bdbs\/(\d+)\/certificates$/;
/** RS 8.2.0: control_plane_basic_authentication and the upload check against the cipher suites. */
const RS_82: readonly [number, number, number] = [8, 2, 0];
/** Default first version of the per-database certificate routes (unconfirmed: see opts). */
const RS_80: readonly [number, number, number] = [8, 0, 0];
const INTERNODE_CERTIFICATES: ReadonlySet<string> = new Set([
  'ccs_internode_encryption',
  'data_internode_encryption',
]);
/** Control-plane certificates RS 8.2 checks against control_cipher_suites (proxy: data_cipher_suites). */
const CONTROL_PLANE_CERTIFICATES: ReadonlySet<string> = new Set(['api', 'cm', 'metrics_exporter']);
/** Certificates RS holds without a key (RS 8.x). */
const KEYLESS_CERTIFICATES: ReadonlySet<string> = new Set(['mtls_trusted_ca', 'sso_issuer']);
/** Names PUT /v1/cluster/certificates accepts although the cluster may not hold them yet (optional ones). */
const OPTIONAL_CERTIFICATES: ReadonlySet<string> = new Set([
  ...INTERNODE_CERTIFICATES,
  ...KEYLESS_CERTIFICATES,
  'ldap_client',
  'sso_service',
]);
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** Page size of GET /v1/bdbs/certificates when `page` is given without `page_size` (RS default unconfirmed). */
const DEFAULT_BDB_PAGE_SIZE = 100;
const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorBody(errorCode: string, description: string): { error_code: string; description: string } {
  return { error_code: errorCode, description };
}

/** Leaf first, as RS expects the chain; undefined when any block fails to parse or there is none. */
function parseChain(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(PEM_CERT_RE);
  if (!blocks) return undefined;
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch {
    return undefined;
  }
}

function leafFingerprint(pem: string): string {
  return parseChain(pem)?.[0]?.fingerprint256 ?? '';
}

/** `7.22.2-14` → [7, 22, 2]; undefined when it does not start with major.minor.patch. */
function parseVersion(version: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function versionAtLeast(version: string, min: readonly [number, number, number]): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  for (let i = 0; i < 3; i++) {
    if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > (min[i] ?? 0);
  }
  return true;
}

function decodeSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function quoteNames(names: string[]): string {
  return names.map((n) => `'${n}'`).join(', ');
}

type PairCheck =
  | { ok: true; stored: StoredCert }
  | { ok: false; status: 400 | 406; errorCode: string; reason: string };

// Stored certificates are immutable, so one check each is enough; hundreds of
// simulators sharing a certificate set then pay for it once.
const tlsUsable = new WeakMap<StoredCert, boolean>();
const storedCache = new Map<string, WeakRef<StoredCert>>();
const storedCacheCleanup = new FinalizationRegistry<string>((key) => {
  if (!storedCache.get(key)?.deref()) storedCache.delete(key);
});

function usableForTls(stored: StoredCert | undefined): stored is StoredCert {
  if (!stored) return false;
  let usable = tlsUsable.get(stored);
  if (usable === undefined) {
    try {
      createSecureContext({ cert: stored.certPem, key: stored.keyPem });
      usable = true;
    } catch {
      usable = false;
    }
    tlsUsable.set(stored, usable);
  }
  return usable;
}

/** Verbatim pairs are interned so that simulators sharing a certificate set share the TLS check. */
function internStored(certPem: string, keyPem: string): StoredCert {
  const key = `${certPem}\0${keyPem}`;
  let stored = storedCache.get(key)?.deref();
  if (!stored) {
    stored = { certPem, keyPem, fingerprint256: leafFingerprint(certPem) };
    storedCache.set(key, new WeakRef(stored));
    storedCacheCleanup.register(stored, key);
  }
  return stored;
}

/** The subject as RS's certificate_subject_line: RFC 2253, CN first, no spaces after commas. */
export function subjectLine(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).reverse().join(',');
}

/** not_before / not_after of a PEM's leaf, as RFC 3339 (RS parses them from the certificate). */
function validity(certPem: string): { notBefore: string; notAfter: string } {
  const leaf = parseChain(certPem)?.[0];
  return {
    notBefore: leaf ? new Date(leaf.validFrom).toISOString() : '',
    notAfter: leaf ? new Date(leaf.validTo).toISOString() : '',
  };
}

/** The DNS name RS gives a database endpoint (`redis-<port>.<cluster fqdn>`). */
function dnsAddress(db: { uid: number }): string {
  return `redis-${10_000 + db.uid}.cluster.local`;
}

/** Linux answers on all of 127/8, so every node gets its own loopback address. */
function nodeAddress(uid: number): string {
  return `127.0.0.${uid + 1}`;
}

function nodeAddresses(nodes: number): string[] {
  return Array.from({ length: nodes }, (_, i) => nodeAddress(i + 1));
}

async function issueSimCertificate(
  ca: TestCa,
  name: string,
  spec: SimCertificateSpec,
  nodes: number,
  now: number,
): Promise<{ certPem: string; keyPem: string; verbatim: boolean }> {
  if (spec.keyless && spec.certPem !== undefined) {
    return { certPem: spec.certPem, keyPem: '', verbatim: true };
  }
  if (spec.certPem !== undefined || spec.keyPem !== undefined) {
    if (spec.certPem === undefined || spec.keyPem === undefined) {
      throw new Error(`certificate ${name}: certPem and keyPem must be given together`);
    }
    return { certPem: spec.certPem, keyPem: spec.keyPem, verbatim: true };
  }
  const served = SERVED_CERTIFICATES.has(name);
  const baseNames = spec.dnsNames ?? [`${name.replace(/_/g, '-')}.cluster.local`];
  const issued = await issueCert({
    ca,
    dnsNames: [...new Set(served ? [...baseNames, 'localhost'] : baseNames)],
    ipAddresses: spec.ipAddresses ?? (served ? ['127.0.0.1', ...nodeAddresses(nodes)] : []),
    notBefore: spec.notBefore ?? new Date(now - DAY_MS),
    notAfter: spec.notAfter ?? new Date(now + 365 * DAY_MS),
    keyKind: spec.keyKind,
    extKeyUsage: spec.extKeyUsage,
    freshKey: spec.freshKey,
  });
  return { certPem: issued.chainPem, keyPem: spec.keyless ? '' : issued.keyPem, verbatim: false };
}

/**
 * Issues a certificate set once, as verbatim pairs to pass as `opts.certificates`
 * to many simulators: issuing costs ~4 ms of CPU per certificate, which dominates
 * the start-up of hundreds of simulators. Specs default to the default set.
 */
export async function issueCertificateSet(opts: {
  ca: TestCa;
  /** Node count the served certificates' IP SANs must cover; default 3. */
  nodes?: number;
  certificates?: Record<string, SimCertificateSpec>;
}): Promise<Record<string, SimCertificateSpec>> {
  const specs = opts.certificates ?? Object.fromEntries(defaultCertificateNames.map((n) => [n, {}]));
  const now = Date.now();
  const entries = await Promise.all(
    Object.entries(specs).map(async ([name, spec]) => {
      const { certPem, keyPem } = await issueSimCertificate(opts.ca, name, spec, opts.nodes ?? 3, now);
      return [name, { certPem, keyPem }] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function listen(server: HttpsServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // exclusive: several simulators in one process must not share a handle via cluster mode.
    server.listen({ host, port, exclusive: true });
  });
}

function closeServer(server: HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

interface BodyRead {
  body: Buffer;
  tooLarge: boolean;
}

function readBody(req: IncomingMessage): Promise<BodyRead | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep draining so the connection stays usable for the 413 answer.
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    req.on('error', () => resolve(undefined));
    req.on('aborted', () => resolve(undefined));
  });
}

class Simulator implements RsSimulator {
  port = 0;
  cmPort: number | undefined;
  proxyPort: number | undefined;
  latencyMs: number;
  readonly requests: RsRequestLogEntry[] = [];
  readonly username: string;
  readonly ca: TestCa;

  #password: string;
  readonly #opts: RsSimulatorOptions;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #ccs = new Map<string, StoredCert>();
  readonly #nodes: NodeState[] = [];
  readonly #overrides = new Map<string, unknown>();
  readonly #faults: PendingFault[] = [];
  readonly #listeners: Listener[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #wakeups = new Set<() => void>();
  #crdbs: SimCrdb[];
  readonly #crdbBehaviours = new Map<string, CrdbTaskBehaviour>();
  readonly #crdbTasks = new Map<string, CrdbTaskState>();
  #bootstrap: TlsPair | undefined;
  #closing: Promise<void> | undefined;
  readonly #databases = new Map<number, DatabaseState>();
  #basicAuthentication: boolean;
  #certificateAuthentication: SimCertificateAuthentication | undefined;

  constructor(opts: RsSimulatorOptions, ca: TestCa) {
    this.#opts = opts;
    this.ca = ca;
    this.username = opts.username ?? 'admin@example.com';
    this.#password = opts.password ?? 's3cret-P@ss';
    this.latencyMs = opts.latencyMs ?? 0;
    this.#now = opts.now ?? Date.now;
    this.#startedAt = this.#now();
    const nodeCount = opts.nodes ?? 3;
    if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 253) {
      throw new RangeError(`nodes must be an integer in 1..253, got ${nodeCount}`);
    }
    const perNode = opts.nodeSoftwareVersions ?? {};
    for (const uid of Object.keys(perNode)) {
      const n = Number(uid);
      if (!Number.isInteger(n) || n < 1 || n > nodeCount) {
        throw new RangeError(`nodeSoftwareVersions: no node with uid ${uid}`);
      }
    }
    for (let uid = 1; uid <= nodeCount; uid++) {
      const softwareVersion = perNode[uid] ?? opts.softwareVersion ?? DEFAULT_SOFTWARE_VERSION;
      this.#nodes.push({ uid, addr: nodeAddress(uid), softwareVersion, certs: new Map() });
    }
    this.#crdbs = structuredClone(opts.crdbs ?? []);
    for (const db of opts.databases ?? []) {
      if (!Number.isInteger(db.uid) || db.uid < 1) throw new RangeError(`database uid ${db.uid} is not >= 1`);
      if (this.#databases.has(db.uid)) throw new RangeError(`database uid ${db.uid} given twice`);
      this.#databases.set(db.uid, {
        uid: db.uid,
        name: db.name,
        tlsMode: db.tlsMode ?? 'enabled',
        certificate: undefined,
        listen: db.listen ?? true,
        port: undefined,
      });
    }
    this.#basicAuthentication = opts.basicAuthentication ?? true;
    this.#certificateAuthentication = opts.certificateAuthentication;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get caPem(): string {
    return this.ca.certPem;
  }

  get password(): string {
    return this.#password;
  }

  get nodes(): SimNode[] {
    return this.#nodes.map((n) => ({
      uid: n.uid,
      addr: n.addr,
      softwareVersion: n.softwareVersion,
      certificates: Object.fromEntries([...n.certs].map(([name, c]) => [name, c.fingerprint256])),
    }));
  }

  certificate(name: string): SimCertificate | undefined {
    const c = this.#ccs.get(name);
    return c ? { certPem: c.certPem, keyPem: c.keyPem, fingerprint256: c.fingerprint256 } : undefined;
  }

  setPassword(password: string): void {
    this.#password = password;
  }

  injectFault(fault: Fault): void {
    const times = fault.times ?? 1;
    if (!(times > 0)) throw new RangeError(`fault.times must be > 0, got ${times}`);
    this.#faults.push({ fault, remaining: times });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  setCertificateField(field: string, raw: unknown): void {
    this.#overrides.set(field, raw);
  }

  setSoftwareVersion(version: string, nodeUid?: number): void {
    if (nodeUid === undefined) {
      for (const node of this.#nodes) node.softwareVersion = version;
      return;
    }
    const node = this.#nodes.find((n) => n.uid === nodeUid);
    if (!node) throw new RangeError(`no node with uid ${nodeUid}`);
    node.softwareVersion = version;
  }

  get bulkCertificatesApi(): boolean {
    return this.#nodes.every((n) => versionAtLeast(n.softwareVersion, BULK_CERTIFICATES_SINCE));
  }

  get crdbs(): SimCrdb[] {
    return structuredClone(this.#crdbs);
  }

  setCrdbs(crdbs: SimCrdb[]): void {
    this.#crdbs = structuredClone(crdbs);
  }

  setCrdbTaskBehaviour(guid: string, behaviour: CrdbTaskBehaviour | undefined): void {
    if (behaviour === undefined) this.#crdbBehaviours.delete(guid);
    else this.#crdbBehaviours.set(guid, { ...behaviour });
  }

  get crdbTasks(): SimCrdbTask[] {
    return [...this.#crdbTasks.values()].map((t) => this.#taskSnapshot(t));
  }

  crdbTask(id: string): SimCrdbTask | undefined {
    const t = this.#crdbTasks.get(id);
    return t ? this.#taskSnapshot(t) : undefined;
  }

  get crdbUpdates(): RsRequestLogEntry[] {
    return this.requests.filter((r) => r.method === 'POST' && CRDB_UPDATES_RE.test(r.path));
  }

  // ---- RS 8.x (rs8) ----

  get databaseCertificatesApi(): boolean {
    return (
      this.#opts.databaseCertificatesApi ?? this.#nodes.every((n) => versionAtLeast(n.softwareVersion, RS_80))
    );
  }

  databaseCertificate(uid: number): SimDatabaseCertificate | undefined {
    const db = this.#databases.get(uid);
    return db?.certificate ? this.#databaseCertificateObject(db, db.certificate, true) : undefined;
  }

  async setDatabaseCertificate(uid: number, spec: SimCertificateSpec | null): Promise<void> {
    const db = this.#databases.get(uid);
    if (!db) throw new RangeError(`no database with uid ${uid}`);
    db.certificate = spec === null ? undefined : await this.#issueDatabaseCertificate(db, spec);
    this.#refreshTls();
  }

  databaseEndpoint(uid: number): { host: string; port: number; dnsAddress: string } | undefined {
    const db = this.#databases.get(uid);
    return db?.port === undefined
      ? undefined
      : { host: '127.0.0.1', port: db.port, dnsAddress: dnsAddress(db) };
  }

  setBasicAuthentication(enabled: boolean): void {
    this.#basicAuthentication = enabled;
  }

  setCertificateAuthentication(settings: SimCertificateAuthentication | undefined): void {
    this.#certificateAuthentication = settings;
  }

  async #issueDatabaseCertificate(db: DatabaseState, spec: SimCertificateSpec): Promise<StoredCert> {
    const pair = await issueSimCertificate(
      this.ca,
      `bdb-${db.uid}`,
      { dnsNames: [dnsAddress(db)], ipAddresses: ['127.0.0.1'], ...spec },
      this.#nodes.length,
      this.#now(),
    );
    return { certPem: pair.certPem, keyPem: pair.keyPem, fingerprint256: leafFingerprint(pair.certPem) };
  }

  /** The BdbProxyCertificate object; the private key is write-only and never returned by RS. */
  #databaseCertificateBody(db: DatabaseState, c: StoredCert): Record<string, unknown> {
    const { notBefore, notAfter } = validity(c.certPem);
    return { bdb_uid: String(db.uid), cert: c.certPem, not_before: notBefore, not_after: notAfter };
  }

  #databaseCertificateObject(db: DatabaseState, c: StoredCert, _withKey: true): SimDatabaseCertificate {
    const { notBefore, notAfter } = validity(c.certPem);
    return {
      bdbUid: String(db.uid),
      certPem: c.certPem,
      keyPem: c.keyPem,
      fingerprint256: c.fingerprint256,
      notBefore,
      notAfter,
    };
  }

  /** GET /v1/bdbs/{uid} (or an item of GET /v1/bdbs): the fields a watchdog reads, and a few more. */
  #databaseObject(db: DatabaseState): Record<string, unknown> {
    const port = db.port ?? 10_000 + db.uid;
    return {
      uid: db.uid,
      name: db.name,
      type: 'redis',
      status: 'active',
      port,
      tls_mode: db.tlsMode,
      ssl: db.tlsMode !== 'disabled',
      memory_size: 1_073_741_824,
      shards_count: 1,
      endpoints: [
        {
          uid: `${db.uid}:1`,
          dns_address: dnsAddress(db),
          port,
          addr: ['127.0.0.1'],
          addr_type: 'internal',
          proxy_policy: 'single',
        },
      ],
    };
  }

  async init(): Promise<void> {
    const specs: Record<string, SimCertificateSpec> =
      this.#opts.certificates ?? Object.fromEntries(defaultCertificateNames.map((n) => [n, {}]));
    const now = this.#now();
    const entries = await Promise.all(
      Object.entries(specs).map(async ([name, spec]) => {
        const pair = await issueSimCertificate(this.ca, name, spec, this.#nodes.length, now);
        const stored = pair.verbatim
          ? internStored(pair.certPem, pair.keyPem)
          : { certPem: pair.certPem, keyPem: pair.keyPem, fingerprint256: leafFingerprint(pair.certPem) };
        return [name, stored] as const;
      }),
    );
    for (const [name, stored] of entries) {
      this.#ccs.set(name, stored);
      for (const node of this.#nodes) node.certs.set(name, stored);
    }
    for (const spec of this.#opts.databases ?? []) {
      const db = this.#databases.get(spec.uid) as DatabaseState;
      if (spec.certificate) db.certificate = await this.#issueDatabaseCertificate(db, spec.certificate);
    }
    const databasesListen = [...this.#databases.values()].some((db) => db.listen);
    const served = [
      'api',
      ...(this.#opts.servicePorts ? ['cm', 'proxy'] : []),
      ...(databasesListen ? ['proxy'] : []),
    ];
    if (!served.every((name) => usableForTls(this.#ccs.get(name)))) {
      // A listener cannot exist without a certificate; this one stands in for a
      // missing or unusable served certificate and is not part of CCS.
      const boot = await issueCert({
        ca: this.ca,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1', ...this.#nodes.map((n) => n.addr)],
        commonName: 'rs-simulator-bootstrap',
      });
      this.#bootstrap = { cert: boot.chainPem, key: boot.keyPem };
    }
    await this.#bind();
  }

  // ---- listeners -------------------------------------------------------

  #tlsPair(stored: StoredCert | undefined): TlsPair | undefined {
    if (usableForTls(stored)) return { cert: stored.certPem, key: stored.keyPem };
    if (this.#bootstrap) return this.#bootstrap;
    // A database certificate that cannot serve (not expected after validation): the proxy's.
    const proxy = this.#ccs.get('proxy');
    return usableForTls(proxy) ? { cert: proxy.certPem, key: proxy.keyPem } : undefined;
  }

  #createListener(wanted: () => StoredCert | undefined, api: boolean): Listener {
    const current = wanted();
    const pair = this.#tlsPair(current);
    if (!pair) throw new Error('no usable certificate for a listener');
    const server = createHttpsServer(
      // The REST API asks every client for a certificate (certificate login); one without is fine.
      api ? { ...pair, requestCert: true, rejectUnauthorized: false } : { ...pair },
      api ? (req, res) => void this.#handleApi(req, res) : (req, res) => this.#handleNode(req, res),
    );
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // Handshake failures are the client's business (e.g. an untrusted CA); stay silent.
    server.on('tlsClientError', () => {});
    return { server, wanted, applied: current };
  }

  async #bind(): Promise<void> {
    const nodeListeners = this.#opts.nodeListeners ?? true;
    for (let attempt = 1; ; attempt++) {
      const created: Listener[] = [];
      const make = (wanted: () => StoredCert | undefined, api: boolean): Listener => {
        const l = this.#createListener(wanted, api);
        created.push(l);
        return l;
      };
      try {
        const apiListener = make(() => this.#ccs.get('api'), true);
        // The endpoint picks the port; nodes must then get the very same number,
        // which another simulator may hold on a node address: retry from scratch.
        const port = await listen(apiListener.server, '127.0.0.1', 0);
        if (nodeListeners) {
          for (const node of this.#nodes) {
            await listen(make(() => node.certs.get('api'), false).server, node.addr, port);
          }
        }
        const servicePorts: Record<string, number> = {};
        if (this.#opts.servicePorts) {
          for (const name of ['cm', 'proxy']) {
            let svcPort = 0;
            for (const node of this.#nodes) {
              svcPort = await listen(make(() => node.certs.get(name), false).server, node.addr, svcPort);
            }
            servicePorts[name] = svcPort;
          }
        }
        // A database endpoint serves its own certificate, else the cluster's proxy certificate.
        const databasePorts = new Map<number, number>();
        for (const db of this.#databases.values()) {
          if (!db.listen) continue;
          const server = make(() => db.certificate ?? this.#ccs.get('proxy'), false).server;
          databasePorts.set(db.uid, await listen(server, '127.0.0.1', 0));
        }
        this.port = port;
        this.cmPort = servicePorts.cm;
        this.proxyPort = servicePorts.proxy;
        for (const [uid, dbPort] of databasePorts) (this.#databases.get(uid) as DatabaseState).port = dbPort;
        this.#listeners.push(...created);
        return;
      } catch (err) {
        await Promise.all(created.map((l) => closeServer(l.server)));
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' || attempt >= MAX_BIND_ATTEMPTS) throw err;
      }
    }
  }

  /** New connections get the new certificate; established keep-alive ones keep theirs, as with a real reload. */
  #refreshTls(): void {
    for (const l of this.#listeners) {
      const wanted = l.wanted();
      if (wanted === l.applied) continue;
      const pair = this.#tlsPair(wanted);
      if (!pair) continue;
      try {
        l.server.setSecureContext(pair);
        l.applied = wanted;
      } catch {
        // Keep serving the previous certificate rather than take the listener down.
      }
    }
  }

  // ---- request handling ------------------------------------------------

  /**
   * Certificate login first (a valid certificate of a certificate user authenticates whatever the
   * Authorization header says), then Basic, which RS 8.2 may have turned off: then every Basic
   * request is a 401, right password or not.
   */
  #authenticate(req: IncomingMessage, entry: RsRequestLogEntry): { basicOff: boolean } {
    const peer = this.#peerCertificate(req);
    if (peer) entry.clientCertificate = peer[0]?.fingerprint256;
    if (peer && this.#certificateUser(peer)) {
      entry.authorized = true;
      entry.authMethod = 'certificate';
      return { basicOff: false };
    }
    const header = req.headers.authorization;
    if (!header?.startsWith('Basic ')) return { basicOff: false };
    if (!this.#basicAuthentication && this.#basicSwitchable()) return { basicOff: true };
    const decoded = Buffer.from(header.slice('Basic '.length).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (
      colon >= 0 &&
      decoded.slice(0, colon) === this.username &&
      decoded.slice(colon + 1) === this.#password
    ) {
      // Basic is how requests authenticated before RS 8.x: only a certificate login is recorded as such.
      entry.authorized = true;
    }
    return { basicOff: false };
  }

  /** control_plane_basic_authentication exists from RS 8.2.0 on. */
  #basicSwitchable(): boolean {
    return this.#nodes.every((n) => versionAtLeast(n.softwareVersion, RS_82));
  }

  /** The client certificate chain of the request's connection (leaf first), or undefined. */
  #peerCertificate(req: IncomingMessage): X509Certificate[] | undefined {
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function') return undefined;
    let peer: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
    const chain: X509Certificate[] = [];
    const seen = new Set<string>();
    while (peer?.raw && !seen.has(peer.fingerprint256) && chain.length < 5) {
      seen.add(peer.fingerprint256);
      try {
        chain.push(new X509Certificate(peer.raw));
      } catch {
        break;
      }
      peer = peer.issuerCertificate;
    }
    return chain.length ? chain : undefined;
  }

  /**
   * RS's certificate login: mtls_certificate_authentication on, the leaf valid now with clientAuth
   * (when it lists usages), chaining to a CA of mtls_trusted_ca, and its subject that of a user
   * with auth_method certificate (full_subject: the whole RFC 2253 line; san_cn: the CN or a SAN).
   */
  #certificateUser(chain: X509Certificate[]): boolean {
    const auth = this.#certificateAuthentication;
    const trusted = this.#ccs.get('mtls_trusted_ca');
    const leaf = chain[0];
    if (!auth || !trusted || !leaf) return false;
    const now = this.#now();
    if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) return false;
    const ekus = (leaf as X509Certificate & { extKeyUsage?: string[] }).extKeyUsage ?? leaf.keyUsage ?? [];
    if (ekus.length > 0 && !ekus.includes(EKU_CLIENT_AUTH)) return false;
    const anchors = parseChain(trusted.certPem) ?? [];
    const anchored = chain.some((cert, i) => {
      const below = chain.slice(0, i + 1);
      const linked = below.every((c, j) => j === 0 || (below[j - 1] as X509Certificate).checkIssued(c));
      return linked && anchors.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
    });
    if (!anchored) return false;
    const line = subjectLine(leaf);
    const validation = auth.subjectValidation ?? 'full_subject';
    if (validation === 'disabled') return true;
    if (validation === 'full_subject') return auth.users.includes(line);
    const cn = /(?:^|,)CN=([^,]*)/.exec(line)?.[1];
    const sans = (leaf.subjectAltName ?? '').split(', ').map((e) => e.replace(/^DNS:/, ''));
    return auth.users.some((user) => {
      const userCn = /(?:^|,)CN=([^,]*)/.exec(user)?.[1];
      return userCn !== undefined && (userCn === cn || sans.includes(userCn));
    });
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#closing) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakeups.add(wake);
    });
  }

  #takeFault(method: string, path: string, phase: 'arrival' | 'commit', query?: string): Fault | undefined {
    const index = this.#faults.findIndex(({ fault }) => {
      if ((fault.kind === 'partial-update') !== (phase === 'commit')) return false;
      if (fault.method !== undefined && fault.method !== method) return false;
      if (fault.query !== undefined && fault.query !== query) return false;
      return fault.path === undefined || fault.path === path;
    });
    const pending = this.#faults[index];
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.#faults.splice(index, 1);
    return pending.fault;
  }

  #send(
    res: ServerResponse,
    entry: RsRequestLogEntry,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed || res.writableEnded || res.headersSent) return;
    const isText = typeof body === 'string';
    const text = isText ? body : JSON.stringify(body);
    entry.status = status;
    res.writeHead(status, {
      'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  #sendRawJson(res: ServerResponse, entry: RsRequestLogEntry, status: number, text: string): void {
    if (res.destroyed || res.writableEnded || res.headersSent) return;
    entry.status = status;
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  #handleNode(_req: IncomingMessage, res: ServerResponse): void {
    const text = JSON.stringify(errorBody('not_found', 'This node listener only presents its certificate.'));
    res.writeHead(404, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  async #handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client gone mid-answer must not surface as an uncaught stream error.
    res.on('error', () => {});
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'https://rs.invalid');
    const path = url.pathname;
    const query = url.search.replace(/^\?/, '');
    const entry: RsRequestLogEntry = { method, path, status: 0, authorized: false };
    if (query) entry.query = query;
    const { basicOff } = this.#authenticate(req, entry);
    this.requests.push(entry);

    const read = await readBody(req);
    if (!read || this.#closing) return;
    if (method === 'PUT' && path === UPDATE_CERT_PATH) this.#observePut(read.body, entry);
    if (method === 'PUT' && path === CERTIFICATES_PATH) this.#observeBulkPut(read.body, entry);
    if (method === 'POST') this.#observeCrdbUpdate(path, read.body, entry);
    if (method === 'POST' && BDB_CERTIFICATE_RE.test(path)) this.#observeBdbPost(read.body, entry);

    await this.#sleep(this.latencyMs);
    if (this.#closing) return;

    if (!entry.authorized) {
      // The RS 8.2 body for a Basic request while Basic is off is unconfirmed; this one says so.
      const body = basicOff
        ? errorBody(
            'basic_authentication_disabled',
            'Basic authentication is disabled for the REST API (control_plane_basic_authentication is false); authenticate with a client certificate or a JWT.',
          )
        : errorBody('unauthorized', 'Authentication required.');
      this.#send(
        res,
        entry,
        401,
        body,
        this.#basicAuthentication ? { 'WWW-Authenticate': 'Basic realm="RS"' } : {},
      );
      return;
    }

    const fault = this.#takeFault(method, path, 'arrival', query);
    if (fault) {
      entry.fault = fault.kind;
      switch (fault.kind) {
        case 'status': {
          const headers: Record<string, string> =
            fault.status === 401 ? { 'WWW-Authenticate': 'Basic realm="RS"' } : {};
          const body = fault.body ?? errorBody('injected_fault', `Injected status ${fault.status}.`);
          this.#send(res, entry, fault.status, body, headers);
          return;
        }
        case 'reset': {
          const socket = req.socket;
          try {
            socket.resetAndDestroy();
          } catch {
            // TLS sockets wrap the TCP handle; a plain destroy still drops the connection unanswered.
            socket.destroy();
          }
          return;
        }
        case 'hang': {
          const text = this.#previewBody(method, path);
          entry.status = 200;
          // The announced length is the full one, so the client keeps waiting for the rest.
          res.writeHead(200, {
            'Content-Type': 'application/json',
            'Content-Length': String(Buffer.byteLength(text)),
          });
          res.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
          return;
        }
        case 'malformed-json': {
          const text = this.#previewBody(method, path);
          this.#sendRawJson(res, entry, 200, text.slice(0, Math.max(1, Math.floor(text.length / 2))));
          return;
        }
        case 'delay':
          await this.#sleep(fault.ms);
          if (this.#closing) return;
          break;
        case 'partial-update':
          // Never returned for the arrival phase.
          break;
      }
    }

    if (read.tooLarge) {
      this.#send(res, entry, 413, errorBody('request_too_large', 'Request body too large.'));
      return;
    }
    this.#route(method, path, read.body, res, entry, new URLSearchParams(query));
  }

  #route(
    method: string,
    path: string,
    body: Buffer,
    res: ServerResponse,
    entry: RsRequestLogEntry,
    params: URLSearchParams = new URLSearchParams(),
  ): void {
    if (path.startsWith(BDBS_PATH) && this.#routeDatabases(method, path, body, res, entry, params)) return;
    if (path === CERTIFICATES_PATH && method === 'GET') {
      this.#sendRawJson(res, entry, 200, JSON.stringify(this.#certificatesBody()));
      return;
    }
    if (path === UPDATE_CERT_PATH && method === 'PUT') {
      const [status, answer] = this.#updateCert(body, method, path, entry);
      this.#send(res, entry, status, answer);
      return;
    }
    if (path === CERTIFICATES_PATH && method === 'PUT') {
      const [status, answer] = this.#bulkUpdateCerts(body, method, path, entry);
      this.#send(res, entry, status, answer);
      return;
    }
    if (path === '/v1/crdbs' && method === 'GET') {
      this.#send(res, entry, 200, this.#crdbs);
      return;
    }
    const crdbUpdate = CRDB_UPDATES_RE.exec(path);
    if (crdbUpdate && method === 'POST') {
      const [status, answer] = this.#crdbUpdate(crdbUpdate[1] ?? '', body, entry);
      this.#send(res, entry, status, answer);
      return;
    }
    const crdbMatch = CRDB_RE.exec(path);
    if (crdbMatch && method === 'GET') {
      const crdb = this.#findCrdb(crdbMatch[1] ?? '');
      if (crdb) this.#send(res, entry, 200, crdb);
      else this.#send(res, entry, 404, errorBody('crdb_not_found', `Unknown Active-Active database.`));
      return;
    }
    const taskMatch = CRDB_TASK_RE.exec(path);
    if (taskMatch && method === 'GET') {
      const id = decodeSegment(taskMatch[1] ?? '');
      const task = id === undefined ? undefined : this.#crdbTasks.get(id);
      if (!task) {
        this.#send(res, entry, 404, errorBody('task_not_found', `Unknown CRDB task '${id ?? ''}'.`));
        return;
      }
      task.polls += 1;
      this.#send(res, entry, 200, this.#taskObject(task));
      return;
    }
    if (path.startsWith(`${CERTIFICATES_PATH}/`) && method === 'DELETE') {
      const [status, answer] = this.#deleteCert(path.slice(CERTIFICATES_PATH.length + 1));
      this.#send(res, entry, status, answer);
      return;
    }
    if (path === '/v1/nodes' && method === 'GET') {
      this.#send(
        res,
        entry,
        200,
        this.#nodes.map((n) => this.#nodeObject(n)),
      );
      return;
    }
    const nodeMatch = /^\/v1\/nodes\/(\d+)$/.exec(path);
    const node =
      nodeMatch && method === 'GET' ? this.#nodes.find((n) => String(n.uid) === nodeMatch[1]) : undefined;
    if (node) {
      this.#send(res, entry, 200, this.#nodeObject(node));
      return;
    }
    this.#send(res, entry, 404, errorBody('not_found', `No handler for ${method} ${path}.`));
  }

  // ---- databases (RS 8.x) ------------------------------------------------

  /**
   * GET /v1/bdbs[?fields], GET /v1/bdbs/{uid}, and the per-database certificate routes (when
   * `databaseCertificatesApi`): GET /v1/bdbs/certificates (page from 1, page_size, expires_before,
   * tls_mode), GET / POST[?dry_run] / DELETE /v1/bdbs/{uid}/certificates. True when it answered.
   */
  #routeDatabases(
    method: string,
    path: string,
    body: Buffer,
    res: ServerResponse,
    entry: RsRequestLogEntry,
    params: URLSearchParams,
  ): boolean {
    if (path === BDBS_PATH && method === 'GET') {
      const fields = params.get('fields')?.split(',').filter(Boolean);
      const list = [...this.#databases.values()]
        .sort((a, b) => a.uid - b.uid)
        .map((db) => {
          const object = this.#databaseObject(db);
          return fields
            ? Object.fromEntries(Object.entries(object).filter(([k]) => fields.includes(k)))
            : object;
        });
      this.#send(res, entry, 200, list);
      return true;
    }
    const one = BDB_RE.exec(path);
    if (one && method === 'GET') {
      const db = this.#databases.get(Number(one[1]));
      if (db) this.#send(res, entry, 200, this.#databaseObject(db));
      else this.#send(res, entry, 404, errorBody('db_not_exist', `Database ${one[1]} does not exist.`));
      return true;
    }
    const isCertificateRoute = path === BDB_CERTIFICATES_PATH || BDB_CERTIFICATE_RE.test(path);
    if (!isCertificateRoute) return false;
    if (!this.databaseCertificatesApi) {
      this.#send(res, entry, 404, errorBody('not_found', `No handler for ${method} ${path}.`));
      return true;
    }
    if (path === BDB_CERTIFICATES_PATH) {
      if (method !== 'GET') return false;
      const [status, answer] = this.#listDatabaseCertificates(params);
      this.#send(res, entry, status, answer);
      return true;
    }
    const uid = Number(BDB_CERTIFICATE_RE.exec(path)?.[1]);
    const db = this.#databases.get(uid);
    if (method === 'GET') {
      if (db?.certificate) this.#send(res, entry, 200, this.#databaseCertificateBody(db, db.certificate));
      else
        this.#send(
          res,
          entry,
          404,
          errorBody(
            db ? 'cert_not_found' : 'db_not_exist',
            `Database ${uid} ${db ? 'has no certificate' : 'does not exist'}.`,
          ),
        );
      return true;
    }
    if (method === 'POST') {
      const [status, answer] = this.#postDatabaseCertificate(db, uid, body, params);
      this.#send(res, entry, status, answer);
      return true;
    }
    if (method === 'DELETE') {
      if (!db?.certificate) {
        this.#send(
          res,
          entry,
          404,
          errorBody(db ? 'cert_not_found' : 'db_not_exist', `Database ${uid} has no certificate.`),
        );
        return true;
      }
      db.certificate = undefined;
      this.#refreshTls();
      this.#send(res, entry, 200, {});
      return true;
    }
    return false;
  }

  /** 400 for a page or page_size that is not a positive integer, or an expires_before that is not a time. */
  #listDatabaseCertificates(params: URLSearchParams): [number, unknown] {
    const positive = (name: string): number | undefined | null => {
      const raw = params.get(name);
      if (raw === null) return undefined;
      return /^[1-9]\d{0,6}$/.test(raw) ? Number(raw) : null;
    };
    const page = positive('page');
    const pageSize = positive('page_size');
    if (page === null || pageSize === null)
      return [400, errorBody('invalid_schema', 'page and page_size must be positive integers.')];
    const expiresRaw = params.get('expires_before');
    const expiresBefore = expiresRaw === null ? undefined : Date.parse(expiresRaw);
    if (
      expiresBefore !== undefined &&
      !(/^\d{4}-\d{2}-\d{2}T/.test(expiresRaw ?? '') && Number.isFinite(expiresBefore))
    )
      return [400, errorBody('invalid_schema', 'expires_before must be an RFC 3339 date-time.')];
    const tlsMode = params.get('tls_mode');
    if (tlsMode !== null && !['enabled', 'disabled', 'replica_ssl'].includes(tlsMode))
      return [400, errorBody('invalid_schema', 'tls_mode must be enabled, disabled or replica_ssl.')];
    const all = [...this.#databases.values()]
      .sort((a, b) => a.uid - b.uid)
      .filter((db): db is DatabaseState & { certificate: StoredCert } => db.certificate !== undefined)
      .filter((db) => tlsMode === null || db.tlsMode === tlsMode)
      .filter(
        (db) =>
          expiresBefore === undefined ||
          Date.parse(validity(db.certificate.certPem).notAfter) < expiresBefore,
      )
      .map((db) => this.#databaseCertificateBody(db, db.certificate));
    if (page === undefined && pageSize === undefined) return [200, all];
    const size = pageSize ?? DEFAULT_BDB_PAGE_SIZE;
    const start = ((page ?? 1) - 1) * size;
    return [200, all.slice(start, start + size)];
  }

  #observeBdbPost(body: Buffer, entry: RsRequestLogEntry): void {
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (isRecord(parsed) && typeof parsed.cert === 'string') {
        const fp = leafFingerprint(parsed.cert);
        if (fp) entry.postFingerprint256 = fp;
      }
    } catch {
      // Answered 400 by the route.
    }
  }

  /**
   * POST /v1/bdbs/{uid}/certificates[?dry_run]: 404 unknown database; 400 a body without string
   * `cert` and `private_key`, a certificate or key that does not parse or match; 406 outside its
   * validity. `dry_run` validates and saves nothing. 200 with the (new) certificate object.
   */
  #postDatabaseCertificate(
    db: DatabaseState | undefined,
    uid: number,
    body: Buffer,
    params: URLSearchParams,
  ): [number, unknown] {
    if (!db) return [404, errorBody('db_not_exist', `Database ${uid} does not exist.`)];
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return [400, errorBody('invalid_json', 'Request body is not valid JSON.')];
    }
    if (!isRecord(parsed) || typeof parsed.cert !== 'string' || typeof parsed.private_key !== 'string')
      return [400, errorBody('invalid_schema', 'cert and private_key are required strings.')];
    const check = this.#checkPair(parsed.cert, parsed.private_key);
    if (!check.ok) return [check.status, errorBody(check.errorCode, check.reason)];
    const dryRun = params.has('dry_run') && params.get('dry_run') !== 'false';
    if (!dryRun) {
      db.certificate = check.stored;
      this.#refreshTls();
    }
    return [200, this.#databaseCertificateBody(db, check.stored)];
  }

  /** What a normal answer would look like, without side effects; hang/malformed faults cut it. */
  #previewBody(method: string, path: string): string {
    if (method === 'GET' && path === CERTIFICATES_PATH) return JSON.stringify(this.#certificatesBody());
    if (method === 'GET' && path === '/v1/nodes')
      return JSON.stringify(this.#nodes.map((n) => this.#nodeObject(n)));
    if (method === 'GET' && path === '/v1/crdbs') return JSON.stringify(this.#crdbs);
    if (method === 'GET' && path === BDB_CERTIFICATES_PATH && this.databaseCertificatesApi)
      return JSON.stringify(this.#listDatabaseCertificates(new URLSearchParams())[1]);
    if (method === 'GET' && path === BDBS_PATH)
      return JSON.stringify([...this.#databases.values()].map((db) => this.#databaseObject(db)));
    const bdb = method === 'GET' ? this.#databases.get(Number(BDB_RE.exec(path)?.[1])) : undefined;
    if (bdb) return JSON.stringify(this.#databaseObject(bdb));
    const bdbCert =
      method === 'GET' ? this.#databases.get(Number(BDB_CERTIFICATE_RE.exec(path)?.[1])) : undefined;
    if (bdbCert?.certificate)
      return JSON.stringify(this.#databaseCertificateBody(bdbCert, bdbCert.certificate));
    const crdbMatch = CRDB_RE.exec(path);
    const crdb = method === 'GET' && crdbMatch ? this.#findCrdb(crdbMatch[1] ?? '') : undefined;
    if (crdb) return JSON.stringify(crdb);
    const taskMatch = CRDB_TASK_RE.exec(path);
    const taskId = method === 'GET' && taskMatch ? decodeSegment(taskMatch[1] ?? '') : undefined;
    const task = taskId === undefined ? undefined : this.#crdbTasks.get(taskId);
    // A cut answer is not a poll: the task does not advance.
    if (task) return JSON.stringify(this.#taskObject(task));
    return '{}';
  }

  #certificatesBody(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, c] of this.#ccs) {
      out[`${name}_cert`] = c.certPem;
      // mtls_trusted_ca and sso_issuer come without a key.
      if (c.keyPem !== '') out[`${name}_key`] = c.keyPem;
    }
    for (const [field, raw] of this.#overrides) {
      if (raw === undefined) delete out[field];
      else out[field] = raw;
    }
    return out;
  }

  #nodeObject(n: NodeState): Record<string, unknown> {
    return {
      uid: n.uid,
      addr: n.addr,
      external_addr: [],
      status: 'active',
      shard_count: 2,
      software_version: n.softwareVersion,
      os_version: 'Ubuntu 22.04.4 LTS',
      os_name: 'ubuntu',
      os_semantic_version: '22.04.4',
      architecture: 'x86_64',
      cores: 4,
      total_memory: 16_776_437_760,
      accept_servers: true,
      rack_id: '',
      max_listeners: 100,
      max_redis_servers: 100,
      uptime: Math.floor((this.#now() - this.#startedAt) / 1000) + 86_400,
      recovery_path: '/var/opt/redislabs/recovery',
      persistent_storage_path: '/var/opt/redislabs/persist',
      ephemeral_storage_path: '/var/opt/redislabs/tmp',
    };
  }

  #observePut(body: Buffer, entry: RsRequestLogEntry): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    if (!isRecord(parsed)) return;
    if (typeof parsed.name === 'string') entry.putName = parsed.name;
    if (typeof parsed.certificate === 'string') {
      const fp = leafFingerprint(parsed.certificate);
      if (fp) entry.putFingerprint256 = fp;
    }
  }

  /** RS's order: request shape, certificate name, certificate/key, validity window, node rollout. */
  #updateCert(body: Buffer, method: string, path: string, entry: RsRequestLogEntry): [number, unknown] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return [400, errorBody('invalid_json', 'Request body is not valid JSON.')];
    }
    if (!isRecord(parsed)) return [400, errorBody('invalid_schema', 'Request body must be a JSON object.')];
    const { name, key, certificate } = parsed;
    if (typeof name !== 'string' || typeof key !== 'string' || typeof certificate !== 'string') {
      const missing = (['name', 'key', 'certificate'] as const).filter((f) => typeof parsed[f] !== 'string');
      return [400, errorBody('invalid_schema', `Fields must be strings: ${missing.join(', ')}.`)];
    }
    if (!this.#ccs.has(name))
      return [403, errorBody('unknown_certificate', `Unknown certificate '${name}'.`)];

    const check = this.#checkPair(certificate, key, name);
    if (!check.ok) return [check.status, errorBody(check.errorCode, check.reason)];
    const { stored } = check;
    this.#ccs.set(name, stored);
    this.#overrides.delete(`${name}_cert`);
    this.#overrides.delete(`${name}_key`);
    const partial = this.#takeFault(method, path, 'commit');
    const updateNodes =
      partial?.kind === 'partial-update' ? Math.max(0, partial.updateNodes ?? 1) : this.#nodes.length;
    for (const node of this.#nodes.slice(0, updateNodes)) node.certs.set(name, stored);
    this.#refreshTls();
    if (partial) {
      entry.fault = 'partial-update';
      return [409, errorBody('nodes_not_updated', 'Failed, not all nodes have been updated.')];
    }
    return [200, {}];
  }

  /**
   * Certificate/key validation shared by update_cert, the bulk PUT and the database POST: parse,
   * key match, validity window; then what RS checks per name: a keyless certificate
   * (mtls_trusted_ca, sso_issuer) needs no key; internode certificates need an RSA key and
   * clientAuth (RS176474, 7.22.2-79 / 8.0.10-64); from 8.2.0 a certificate must suit the cipher
   * suites it will be served with.
   */
  #checkPair(certificate: string, key: string | undefined, name?: string): PairCheck {
    const invalid = (reason: string, errorCode = 'invalid_certificate'): PairCheck => ({
      ok: false,
      status: 400,
      errorCode,
      reason,
    });
    const leaf = parseChain(certificate)?.[0];
    if (!leaf) return invalid('Certificate could not be parsed.');
    if (name !== undefined && KEYLESS_CERTIFICATES.has(name)) {
      const now = this.#now();
      if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo))
        return {
          ok: false,
          status: 406,
          errorCode: 'expired_certificate',
          reason: 'Certificate is expired or not yet valid.',
        };
      return { ok: true, stored: { certPem: certificate, keyPem: '', fingerprint256: leaf.fingerprint256 } };
    }
    if (key === undefined) return invalid('Private key is required.');
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      return invalid('Private key could not be parsed.');
    }
    let matches = false;
    try {
      matches = leaf.checkPrivateKey(privateKey);
    } catch {
      matches = false;
    }
    if (!matches) return invalid('Private key does not match the certificate.');
    const now = this.#now();
    if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) {
      return {
        ok: false,
        status: 406,
        errorCode: 'expired_certificate',
        reason: 'Certificate is expired or not yet valid.',
      };
    }
    const keyType = leaf.publicKey.asymmetricKeyType;
    if (name !== undefined && INTERNODE_CERTIFICATES.has(name) && this.bulkCertificatesApi) {
      if (keyType !== 'rsa')
        return invalid(`Internode encryption certificate '${name}' must use an RSA key.`);
      const ekus = (leaf as X509Certificate & { extKeyUsage?: string[] }).extKeyUsage ?? leaf.keyUsage ?? [];
      if (ekus.length > 0 && !ekus.includes(EKU_CLIENT_AUTH))
        return invalid(
          `Internode encryption certificate '${name}' must have the clientAuth extended key usage.`,
        );
    }
    const suites =
      name === undefined
        ? undefined
        : CONTROL_PLANE_CERTIFICATES.has(name)
          ? this.#opts.cipherSuites?.control
          : name === 'proxy'
            ? this.#opts.cipherSuites?.data
            : undefined;
    if (suites !== undefined && this.#nodes.every((n) => versionAtLeast(n.softwareVersion, RS_82))) {
      const list = suites.split(':').filter(Boolean);
      const ecdsa = list.some((suite) => suite.includes('ECDSA'));
      const rsa = list.some((suite) => !suite.includes('ECDSA'));
      if ((keyType === 'ec' && !ecdsa) || (keyType === 'rsa' && !rsa)) {
        const setting = name === 'proxy' ? 'data_cipher_suites' : 'control_cipher_suites';
        return invalid(
          `Certificate '${name}' does not match the configured cipher suites: its ${keyType === 'ec' ? 'ECDSA' : 'RSA'} key is not usable with ${setting}.`,
          'cipher_suites_mismatch',
        );
      }
    }
    return { ok: true, stored: { certPem: certificate, keyPem: key, fingerprint256: leaf.fingerprint256 } };
  }

  #observeBulkPut(body: Buffer, entry: RsRequestLogEntry): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    if (!isRecord(parsed) || !Array.isArray(parsed.certificates)) return;
    entry.putCertificates = parsed.certificates.map((item: unknown) => {
      const name = isRecord(item) && typeof item.name === 'string' ? item.name : '';
      const fp =
        isRecord(item) && typeof item.certificate === 'string' ? leafFingerprint(item.certificate) : '';
      return fp ? { name, fingerprint256: fp } : { name };
    });
  }

  /**
   * PUT /v1/cluster/certificates (RS 7.22.2+): 404 while any node is older, as on a
   * 7.4 cluster. Every certificate is validated before anything changes, one class
   * at a time over the whole request, in update_cert's order: 400 request shape, 403
   * unknown names, 400 invalid certificate/key, 406 validity window. Each error names
   * every offending certificate in its description.
   */
  #bulkUpdateCerts(body: Buffer, method: string, path: string, entry: RsRequestLogEntry): [number, unknown] {
    if (!this.bulkCertificatesApi) {
      return [404, errorBody('not_found', `No handler for ${method} ${path}.`)];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return [400, errorBody('invalid_json', 'Request body is not valid JSON.')];
    }
    if (!isRecord(parsed) || !Array.isArray(parsed.certificates) || parsed.certificates.length === 0) {
      return [
        400,
        errorBody('invalid_schema', 'Request body must be an object with a non-empty "certificates" array.'),
      ];
    }
    const items: Array<{ name: string; key: string | undefined; certificate: string }> = [];
    for (const [i, item] of (parsed.certificates as unknown[]).entries()) {
      if (!isRecord(item)) {
        return [400, errorBody('invalid_schema', `certificates[${i}] must be an object.`)];
      }
      const { name, certificate } = item;
      // A keyless certificate (mtls_trusted_ca, sso_issuer) is uploaded without "key".
      const keyless = typeof name === 'string' && KEYLESS_CERTIFICATES.has(name) && item.key === undefined;
      const key = keyless ? undefined : item.key;
      if (
        typeof name !== 'string' ||
        (!keyless && typeof key !== 'string') ||
        typeof certificate !== 'string'
      ) {
        const missing = (['name', 'key', 'certificate'] as const).filter((f) => typeof item[f] !== 'string');
        const label = typeof name === 'string' ? `'${name}'` : `certificates[${i}]`;
        return [
          400,
          errorBody('invalid_schema', `Certificate ${label}: fields must be strings: ${missing.join(', ')}.`),
        ];
      }
      items.push({ name, key: key as string | undefined, certificate });
    }
    const seen = new Set<string>();
    const duplicates = [...new Set(items.map((c) => c.name).filter((n) => seen.has(n) || !seen.add(n)))];
    if (duplicates.length > 0) {
      return [
        400,
        errorBody('invalid_schema', `Certificate(s) given more than once: ${quoteNames(duplicates)}.`),
      ];
    }
    const unknown = items
      .map((c) => c.name)
      .filter((n) => !this.#ccs.has(n) && !OPTIONAL_CERTIFICATES.has(n));
    if (unknown.length > 0) {
      return [403, errorBody('unknown_certificate', `Unknown certificate(s): ${quoteNames(unknown)}.`)];
    }
    const checks = items.map((c) => ({ name: c.name, check: this.#checkPair(c.certificate, c.key, c.name) }));
    for (const status of [400, 406] as const) {
      const failed = checks.flatMap(({ name, check }) =>
        !check.ok && check.status === status ? [{ name, check }] : [],
      );
      const first = failed[0];
      if (!first || first.check.ok) continue;
      const details = failed.map(
        ({ name, check }) => `'${name}': ${check.ok ? '' : check.reason.replace(/\.$/, '')}`,
      );
      const what = status === 400 ? 'Invalid' : 'Expired or not yet valid';
      return [status, errorBody(first.check.errorCode, `${what} certificate(s): ${details.join('; ')}.`)];
    }

    const accepted = checks.flatMap(({ name, check }) => (check.ok ? [[name, check.stored] as const] : []));
    for (const [name, stored] of accepted) {
      this.#ccs.set(name, stored);
      this.#overrides.delete(`${name}_cert`);
      this.#overrides.delete(`${name}_key`);
    }
    const partial = this.#takeFault(method, path, 'commit');
    const updateNodes =
      partial?.kind === 'partial-update' ? Math.max(0, partial.updateNodes ?? 1) : this.#nodes.length;
    for (const node of this.#nodes.slice(0, updateNodes)) {
      for (const [name, stored] of accepted) node.certs.set(name, stored);
    }
    this.#refreshTls();
    if (partial) {
      entry.fault = 'partial-update';
      return [409, errorBody('nodes_not_updated', 'Failed, not all nodes have been updated.')];
    }
    return [200, {}];
  }

  // ---- Active-Active ---------------------------------------------------

  #findCrdb(rawGuid: string): SimCrdb | undefined {
    const guid = decodeSegment(rawGuid);
    return guid === undefined ? undefined : this.#crdbs.find((c) => c.guid === guid);
  }

  #observeCrdbUpdate(path: string, body: Buffer, entry: RsRequestLogEntry): void {
    const m = CRDB_UPDATES_RE.exec(path);
    if (!m) return;
    entry.crdbGuid = decodeSegment(m[1] ?? '') ?? m[1];
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (isRecord(parsed) && typeof parsed.force_update === 'boolean')
        entry.forceUpdate = parsed.force_update;
    } catch {
      // Answered 400 by the route.
    }
  }

  #taskStatus(t: CrdbTaskState): CrdbTaskStatus {
    const { queuedPolls, startedPolls, outcome } = t.behaviour;
    if (t.polls === 0 || t.polls <= queuedPolls) return 'queued';
    if (t.polls <= queuedPolls + startedPolls) return 'started';
    return outcome;
  }

  #taskSnapshot(t: CrdbTaskState): SimCrdbTask {
    const status = this.#taskStatus(t);
    return {
      id: t.id,
      crdb_guid: t.guid,
      status,
      ...(status === 'failed' ? { errors: structuredClone(t.behaviour.errors) } : {}),
      polls: t.polls,
    };
  }

  /** The crdb_task object RS returns; timestamps are set when a poll first sees the task start/end. */
  #taskObject(t: CrdbTaskState): Record<string, unknown> {
    const status = this.#taskStatus(t);
    const now = this.#now();
    if (status !== 'queued') t.startedAt ??= now;
    if (status === 'finished' || status === 'failed') t.endedAt ??= now;
    return {
      id: t.id,
      crdb_guid: t.guid,
      operation: 'update_crdb',
      status,
      worker_name: 'crdb_worker:1:0',
      ...(t.startedAt !== undefined ? { started: new Date(t.startedAt).toISOString() } : {}),
      ...(t.endedAt !== undefined ? { ended: new Date(t.endedAt).toISOString() } : {}),
      ...(status === 'failed' ? { errors: structuredClone(t.behaviour.errors) } : {}),
    };
  }

  /**
   * POST /v1/crdbs/{guid}/updates: 200 with a `queued` crdb_task (the reference
   * answers 200 "The request has been accepted", not 202); 404 unknown GUID; 400 a
   * body that is not a JSON object or a non-boolean `force_update`; 409 while an
   * earlier task of that GUID is not finished or failed.
   */
  #crdbUpdate(rawGuid: string, body: Buffer, entry: RsRequestLogEntry): [number, unknown] {
    const crdb = this.#findCrdb(rawGuid);
    if (!crdb) {
      return [
        404,
        errorBody('crdb_not_found', `Unknown Active-Active database '${entry.crdbGuid ?? rawGuid}'.`),
      ];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return [400, errorBody('invalid_json', 'Request body is not valid JSON.')];
    }
    if (!isRecord(parsed)) return [400, errorBody('invalid_schema', 'Request body must be a JSON object.')];
    if (parsed.force_update !== undefined && typeof parsed.force_update !== 'boolean') {
      return [400, errorBody('invalid_schema', 'force_update must be a boolean.')];
    }
    const running = [...this.#crdbTasks.values()].find(
      (t) => t.guid === crdb.guid && ['queued', 'started'].includes(this.#taskStatus(t)),
    );
    if (running) {
      entry.crdbTaskId = running.id;
      return [
        409,
        errorBody(
          'crdb_task_in_progress',
          `Active-Active database '${crdb.guid}' has a task in progress: ${running.id}.`,
        ),
      ];
    }
    const b = this.#crdbBehaviours.get(crdb.guid) ?? this.#opts.crdbTask ?? {};
    const task: CrdbTaskState = {
      id: randomUUID(),
      guid: crdb.guid,
      behaviour: {
        queuedPolls: Math.max(0, b.queuedPolls ?? 0),
        startedPolls: Math.max(0, b.startedPolls ?? 1),
        outcome: b.outcome ?? 'finished',
        errors: structuredClone(
          b.errors ?? [
            {
              cluster_name: 'cluster.local',
              error_code: 'crdb_update_failed',
              description: `Failed to update Active-Active database '${crdb.guid}'.`,
            },
          ],
        ),
      },
      polls: 0,
      createdAt: this.#now(),
    };
    this.#crdbTasks.set(task.id, task);
    entry.crdbTaskId = task.id;
    return [200, this.#taskObject(task)];
  }

  #deleteCert(rawName: string): [number, unknown] {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      return [404, errorBody('unknown_certificate', 'Unknown certificate.')];
    }
    if (!this.#ccs.has(name))
      return [404, errorBody('unknown_certificate', `Unknown certificate '${name}'.`)];
    if (requiredCertificateNames.includes(name)) {
      return [
        403,
        errorBody('required_certificate', `Certificate '${name}' is required and cannot be deleted.`),
      ];
    }
    this.#ccs.delete(name);
    for (const node of this.#nodes) node.certs.delete(name);
    this.#overrides.delete(`${name}_cert`);
    this.#overrides.delete(`${name}_key`);
    this.#refreshTls();
    return [200, {}];
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const wake of [...this.#wakeups]) wake();
      const closing = this.#listeners.map((l) => closeServer(l.server));
      // Hung answers and half-open handshakes are not tracked by the HTTP layer.
      for (const socket of this.#sockets) socket.destroy();
      await Promise.all(closing);
    })();
    return this.#closing;
  }
}

export async function startRsSimulator(opts: RsSimulatorOptions = {}): Promise<RsSimulator> {
  const ca = opts.ca ?? (await createCa({ commonName: `RS Simulator CA ${randomBytes(4).toString('hex')}` }));
  const sim = new Simulator(opts, ca);
  await sim.init();
  return sim;
}
