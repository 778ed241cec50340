/**
 * The RS REST API endpoints this project uses, with every documented status code mapped to a named
 * error (../../../README.md#error-names). Reference: docs "Cluster certificates requests" (RS 7.4).
 */
import { inspect } from 'node:util';
import { ERROR_BODY_JSON_LIMITS, parseBoundedJson, RS_JSON_LIMITS } from '../bounded-json';
import {
  ActiveActiveUpdateError,
  AuthenticationError,
  BadResponseError,
  BasicAuthDisabledError,
  CipherSuiteMismatchError,
  ClientCertificateRefusedError,
  type ClusterApiError,
  ClusterServerError,
  DatabaseNotFoundError,
  ExpiredCertificateError,
  InvalidCertificateError,
  NodesNotUpdatedError,
  PermissionDeniedError,
  PushApiUnavailableError,
  UnexpectedStatusError,
  UnknownCertificateError,
} from '../errors';
import type {
  ClusterConnector,
  ClusterTransport,
  RawResponse,
  RsConnection,
} from '../ports/cluster-transport';

export type { RsConnection };

export interface RsNode {
  uid: number;
  addr: string;
  status: string;
  /** `software_version`, e.g. "7.4.6-22" or "7.22.2-14"; null when the node does not say. */
  softwareVersion: string | null;
}

export interface CertificateUpdate {
  name: string;
  /** Private key PEM. */
  key: string;
  /** Full chain PEM: leaf first. */
  certificate: string;
}

/**
 * The body of GET /v1/cluster/certificates. It holds private keys, so it hides them from
 * JSON.stringify, console.log and util.inspect: only the certificate names are ever shown.
 *
 * Every `<name>_cert` field names a certificate, whatever its value: a field that is not a PEM
 * string (`42`, `null`, `{}`) is kept so that the report marks it `invalid` with its reason
 * (`fieldProblem`), instead of dropping it in silence.
 */
export class ClusterCertificateSet {
  readonly #fields: ReadonlyMap<string, unknown>;

  constructor(fields: Record<string, unknown>) {
    this.#fields = new Map(Object.entries(fields));
  }

  /** Every certificate name, from the `<name>_cert` fields, in the order the cluster gave them. */
  names(): string[] {
    return [...this.#fields.keys()]
      .filter((k) => k.endsWith('_cert') && k.length > '_cert'.length)
      .map((k) => k.slice(0, -'_cert'.length));
  }

  /** The certificate PEM; undefined when absent or not a string (see `fieldProblem`). */
  certificate(name: string): string | undefined {
    const value = this.#fields.get(`${name}_cert`);
    return typeof value === 'string' ? value : undefined;
  }

  /** The private key PEM; undefined when absent or not a string (see `fieldProblem`). */
  key(name: string): string | undefined {
    const value = this.#fields.get(`${name}_key`);
    return typeof value === 'string' ? value : undefined;
  }

  /**
   * Why the fields of `name` cannot be used as they are, or null: a `_cert` or `_key` present with a
   * value that is not a string. Says only the JSON type, never the value.
   */
  fieldProblem(name: string): string | null {
    for (const field of [`${name}_cert`, `${name}_key`]) {
      if (!this.#fields.has(field)) continue;
      const value = this.#fields.get(field);
      if (typeof value !== 'string') return `${field} is ${jsonType(value)}, not a PEM string`;
    }
    return null;
  }

  toJSON(): { certificates: string[] } {
    return { certificates: this.names() };
  }

  /** A set with more `<name>_cert` / `<name>_key` fields (the database and client rows of a check). */
  extend(fields: Record<string, unknown>): ClusterCertificateSet {
    return new ClusterCertificateSet({ ...Object.fromEntries(this.#fields), ...fields });
  }

  [inspect.custom](): string {
    return `ClusterCertificateSet { ${this.names().join(', ')} } (keys hidden)`;
  }
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** How requests to a cluster authenticate: what a 401 means depends on it. */
export interface RsAuthentication {
  /** An Authorization: Basic header is sent. */
  basic: boolean;
  /** A client certificate is presented (certificate login). */
  certificate: boolean;
}

export class RsClient {
  constructor(
    readonly cluster: string,
    private readonly transport: ClusterTransport,
    private readonly authentication: RsAuthentication = { basic: true, certificate: false },
  ) {}

  /** GET /v1/cluster/certificates. 200 is the only documented answer; anything else is mapped. */
  async getCertificates(): Promise<ClusterCertificateSet> {
    const path = '/v1/cluster/certificates';
    const response = await this.transport.send('GET', path);
    if (response.status !== 200) throw this.statusError('GET', path, response);
    const parsed = this.parseBody(path, response);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new BadResponseError(
        `cluster "${this.cluster}": GET ${path} returned ${jsonType(parsed)}, not an object of certificates`,
        {
          status: 200,
          hint: 'the endpoint is not an RS REST API, or a proxy in front of it rewrote the answer',
        },
      );
    }
    const set = new ClusterCertificateSet(parsed as Record<string, unknown>);
    // Every RS cluster has at least its api, cm and proxy certificates: an answer naming none is not
    // a fleet with nothing to watch, it is a broken answer.
    if (set.names().length === 0) {
      throw new BadResponseError(
        `cluster "${this.cluster}": GET ${path} named no certificate (no "<name>_cert" field)`,
        {
          status: 200,
          hint: 'the endpoint is not an RS REST API, or a proxy in front of it rewrote the answer',
        },
      );
    }
    return set;
  }

  /**
   * Parses a 200 body within RS_JSON_LIMITS, refusing deep or huge documents before any object is
   * built. The body is never quoted: GET bodies hold private keys.
   */
  private parseBody(path: string, response: RawResponse): unknown {
    const parsed = parseBoundedJson(response.body, RS_JSON_LIMITS);
    if (parsed.ok) return parsed.value;
    const what =
      parsed.reason === 'malformed'
        ? `malformed JSON (${response.body.length} bytes)`
        : `a body refused unparsed: ${parsed.detail}`;
    throw new BadResponseError(`cluster "${this.cluster}": GET ${path} returned ${what}`, {
      status: 200,
      hint:
        parsed.reason === 'malformed'
          ? 'the response was cut off or is not from the RS REST API'
          : 'the endpoint is not an RS REST API, or a proxy in front of it is misbehaving; other clusters are unaffected',
    });
  }

  /**
   * PUT /v1/cluster/update_cert. Never retried here: a 409 (NodesNotUpdatedError) is retried by the
   * caller's push policy, with the same certificate, and every other failure is final.
   */
  async updateCertificate(update: CertificateUpdate): Promise<void> {
    const response = await this.transport.send('PUT', '/v1/cluster/update_cert', update);
    if (response.status !== 200)
      throw this.statusError('PUT', '/v1/cluster/update_cert', response, update.name);
  }

  /** GET /v1/nodes. */
  async getNodes(): Promise<RsNode[]> {
    const path = '/v1/nodes';
    const response = await this.transport.send('GET', path);
    if (response.status !== 200) throw this.statusError('GET', path, response);
    const parsed = this.parseBody(path, response);
    if (!Array.isArray(parsed))
      throw new BadResponseError(
        `cluster "${this.cluster}": GET ${path} returned ${jsonType(parsed)}, not a list of nodes`,
        { status: 200 },
      );
    return parsed.map((node: unknown, index) => {
      const n = (node !== null && typeof node === 'object' ? node : {}) as Record<string, unknown>;
      // A node we cannot name is not a node to skip: it may be the one that did not take a certificate.
      if (typeof n.uid !== 'number' || typeof n.addr !== 'string') {
        throw new BadResponseError(
          `cluster "${this.cluster}": GET ${path} item #${index + 1} is ${jsonType(node)} without a numeric "uid" and a string "addr"`,
          {
            status: 200,
            hint: 'the endpoint is not an RS REST API, or a proxy in front of it rewrote the answer',
          },
        );
      }
      return {
        uid: n.uid,
        addr: n.addr,
        status: typeof n.status === 'string' ? n.status : 'unknown',
        softwareVersion: typeof n.software_version === 'string' ? n.software_version : null,
      };
    });
  }

  // --- RS 7.22.2+ bulk push and Active-Active (rs7.22 work; kept apart from the parsing helpers) ---

  /**
   * PUT /v1/cluster/certificates (RS 7.22.2+): every certificate in one request, validated by the
   * cluster before it changes anything. 404/405 throw PushApiUnavailableError (an older cluster: the
   * caller falls back to update_cert); 409 NodesNotUpdatedError (retried by the caller's policy with
   * the same set); 400/403/406 name the refused certificate(s) when the body does.
   */
  async updateCertificates(updates: readonly CertificateUpdate[]): Promise<void> {
    const path = '/v1/cluster/certificates';
    const response = await this.transport.send('PUT', path, {
      certificates: updates.map((u) => ({ name: u.name, certificate: u.certificate, key: u.key })),
    });
    if (response.status === 200) return;
    const names = updates.map((u) => u.name);
    if (response.status === 404 || response.status === 405) {
      throw new PushApiUnavailableError(
        `cluster "${this.cluster}": PUT ${path} answered ${response.status}: the cluster does not serve the bulk certificates API`,
        { status: response.status, hint: 'RS before 7.22.2: PUT /v1/cluster/update_cert is used instead' },
      );
    }
    // The error names the refused certificate(s) when the body says which, else the whole set.
    const refused = refusedCertificates(response.body, names);
    throw this.statusError('PUT', path, response, (refused.length ? refused : names).join(', '));
  }

  /** GET /v1/crdbs: the Active-Active databases this cluster takes part in. */
  async listCrdbs(): Promise<RsCrdb[]> {
    const parsed = await this.getJson('/v1/crdbs');
    if (!Array.isArray(parsed))
      throw new BadResponseError(`cluster "${this.cluster}": GET /v1/crdbs did not return a list`);
    // Every entry is kept, whatever its shape: one without a string GUID keeps what it had in its
    // place (its JSON), which the Active-Active follow-up refuses as not GUID-shaped, so it is reported.
    return parsed.map((c: unknown) => {
      const r = (c !== null && typeof c === 'object' ? c : {}) as Record<string, unknown>;
      const guid =
        typeof r.guid === 'string'
          ? r.guid
          : (JSON.stringify(c !== null && typeof c === 'object' ? r.guid : c) ?? 'null');
      return { guid, name: typeof r.name === 'string' ? r.name : guid };
    });
  }

  /**
   * POST /v1/crdbs/{guid}/updates with {"force_update": true}: the REST form of
   * `crdb-cli crdb update --crdb-guid <guid> --force`. Returns the task to poll. A 409 (a task of
   * this database is still running) is an ActiveActiveUpdateError: a second update is never started.
   */
  async forceUpdateCrdb(guid: string): Promise<RsCrdbTask> {
    const path = `/v1/crdbs/${encodeURIComponent(guid)}/updates`;
    const response = await this.transport.send('POST', path, { force_update: true });
    if (response.status !== 200) {
      if (response.status === 409 || response.status === 404 || response.status === 400)
        throw new ActiveActiveUpdateError(
          `cluster "${this.cluster}": POST ${path} answered ${response.status}${describeBody(response.body)}`,
          {
            status: response.status,
            hint:
              response.status === 409
                ? 'another update of this database is running; it was not started twice'
                : 'check the database with crdb-cli crdb list',
          },
        );
      throw this.statusError('POST', path, response);
    }
    return parseCrdbTask(this.cluster, path, this.parseBody(path, response));
  }

  /** GET /v1/crdb_tasks/{id}. */
  async getCrdbTask(id: string): Promise<RsCrdbTask> {
    const path = `/v1/crdb_tasks/${encodeURIComponent(id)}`;
    const response = await this.transport.send('GET', path);
    if (response.status !== 200) throw this.statusError('GET', path, response);
    return parseCrdbTask(this.cluster, path, this.parseBody(path, response));
  }

  // --- RS 8.x per-database certificates (rs8; seeds/rs-8x-certificates.md) ---

  /**
   * Every database certificate of the cluster: GET /v1/bdbs/certificates, page by page (`page`
   * from 1, `page_size`) until a page comes back short. Null when the cluster has no such endpoint
   * (404: an RS version before per-database certificates): it then has none. No `expires_before`:
   * the report lists every certificate, and when one is due depends on its own lifetime, which no
   * single date selects. A server that ignores paging (a page of uids already seen) or answers
   * more than `maxPages` pages is refused (BadResponseError), never looped on.
   */
  async listDatabaseCertificates(
    options: { pageSize?: number; maxPages?: number } = {},
  ): Promise<RsDatabaseCertificate[] | null> {
    const pageSize = options.pageSize ?? DATABASE_CERTIFICATE_PAGE_SIZE;
    const maxPages = options.maxPages ?? DATABASE_CERTIFICATE_MAX_PAGES;
    const all: RsDatabaseCertificate[] = [];
    const seen = new Set<string>();
    for (let page = 1; ; page++) {
      const path = `/v1/bdbs/certificates?page=${page}&page_size=${pageSize}`;
      const response = await this.transport.send('GET', path);
      if (response.status === 404 && page === 1) return null;
      if (response.status !== 200) throw this.databaseStatusError('GET', path, response);
      const parsed = this.parseBody(path, response);
      if (!Array.isArray(parsed))
        throw new BadResponseError(
          `cluster "${this.cluster}": GET ${path} returned ${jsonType(parsed)}, not a list of database certificates`,
          {
            status: 200,
            hint: 'the endpoint is not an RS REST API, or a proxy in front of it rewrote the answer',
          },
        );
      for (const [index, item] of parsed.entries()) {
        const certificate = parseDatabaseCertificate(item);
        if (!certificate)
          throw new BadResponseError(
            `cluster "${this.cluster}": GET ${path} item #${index + 1} is ${jsonType(item)} without a "bdb_uid"`,
            {
              status: 200,
              hint: 'the endpoint is not an RS REST API, or a proxy in front of it rewrote the answer',
            },
          );
        if (seen.has(certificate.bdbUid))
          throw new BadResponseError(
            `cluster "${this.cluster}": GET ${path} listed database ${certificate.bdbUid} again: the cluster does not page as asked`,
            {
              status: 200,
              hint: 'the database certificates cannot be listed reliably; check the RS version and any proxy in front of the API',
            },
          );
        seen.add(certificate.bdbUid);
        all.push(certificate);
      }
      if (parsed.length < pageSize) return all;
      if (page >= maxPages)
        throw new BadResponseError(
          `cluster "${this.cluster}": GET /v1/bdbs/certificates has more than ${maxPages} pages of ${pageSize}`,
          { status: 200, hint: 'more database certificates than the watchdog lists per cluster; report it' },
        );
    }
  }

  /**
   * The databases (GET /v1/bdbs?fields=uid,name,endpoints,tls_mode): names for the report and the
   * endpoints a renewal probes. Items without a uid are skipped (names are a courtesy).
   */
  async listDatabases(): Promise<RsDatabase[]> {
    const parsed = await this.getJson('/v1/bdbs?fields=uid,name,endpoints,tls_mode');
    if (!Array.isArray(parsed))
      throw new BadResponseError(`cluster "${this.cluster}": GET /v1/bdbs did not return a list`);
    return parsed.flatMap((item: unknown) => {
      const database = parseDatabase(item);
      return database ? [database] : [];
    });
  }

  /** GET /v1/bdbs/{uid}: one database, or null when none has that uid (404). */
  async getDatabase(uid: string): Promise<RsDatabase | null> {
    const path = `/v1/bdbs/${encodeURIComponent(uid)}`;
    const response = await this.transport.send('GET', path);
    if (response.status === 404) return null;
    if (response.status !== 200) throw this.databaseStatusError('GET', path, response);
    return parseDatabase(this.parseBody(path, response));
  }

  /**
   * GET /v1/bdbs/{uid}/certificates: the database's own certificate, or null (404: it has none,
   * or there is no such database). RS never returns its private key.
   */
  async getDatabaseCertificate(uid: string): Promise<RsDatabaseCertificate | null> {
    const path = `/v1/bdbs/${encodeURIComponent(uid)}/certificates`;
    const response = await this.transport.send('GET', path);
    if (response.status === 404) return null;
    if (response.status !== 200) throw this.databaseStatusError('GET', path, response);
    const certificate = parseDatabaseCertificate(this.parseBody(path, response));
    if (!certificate)
      throw new BadResponseError(`cluster "${this.cluster}": GET ${path} returned no "bdb_uid" and "cert"`, {
        status: 200,
      });
    return certificate;
  }

  /**
   * POST /v1/bdbs/{uid}/certificates (`dryRun`: `?dry_run=true`, validated and not saved). Never
   * retried here. 400 InvalidCertificateError (CipherSuiteMismatchError when the cluster says its
   * cipher suites refuse the key), 404 DatabaseNotFoundError, 406 ExpiredCertificateError, 5xx
   * ClusterServerError; RS documents no 409 for it.
   */
  async uploadDatabaseCertificate(
    uid: string,
    pair: { certificate: string; key: string },
    options: { dryRun: boolean },
  ): Promise<void> {
    const path = `/v1/bdbs/${encodeURIComponent(uid)}/certificates${options.dryRun ? '?dry_run=true' : ''}`;
    const response = await this.transport.send('POST', path, {
      cert: pair.certificate,
      private_key: pair.key,
    });
    if (response.status !== 200) throw this.databaseStatusError('POST', path, response, `bdb:${uid}`);
  }

  /** DELETE /v1/bdbs/{uid}/certificates: back to the default certificate. False when it had none (404). */
  async deleteDatabaseCertificate(uid: string): Promise<boolean> {
    const path = `/v1/bdbs/${encodeURIComponent(uid)}/certificates`;
    const response = await this.transport.send('DELETE', path);
    if (response.status === 404) return false;
    if (response.status !== 200) throw this.databaseStatusError('DELETE', path, response, `bdb:${uid}`);
    return true;
  }

  /** The database routes' own meanings, then the shared ones (401, 5xx, ...). */
  private databaseStatusError(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    response: RawResponse,
    certificate?: string,
  ): ClusterApiError {
    const { status } = response;
    const said = method === 'GET' ? '' : describeBody(response.body);
    const what = `cluster "${this.cluster}": ${method} ${path}${certificate ? ` (${certificate})` : ''} answered ${status}${said}`;
    if (status === 403)
      return new PermissionDeniedError(`${what}: the user lacks permission for this database request`, {
        status,
        hint:
          method === 'GET'
            ? 'give the user a role with view_all_bdbs_info (listing) and view_bdb_info'
            : 'give the user a role with update_bdb',
      });
    if (method === 'POST' && status === 404)
      return new DatabaseNotFoundError(`${what}: the cluster has no such database`, {
        status,
        hint: 'check the uid under "databases" against GET /v1/bdbs; the certificate is kept in the state store',
      });
    if (method === 'POST' && (status === 400 || status === 406)) {
      const cipher = cipherRefusal(what, response, status, certificate ?? '');
      if (cipher) return cipher;
      return status === 400
        ? new InvalidCertificateError(`${what}: the cluster rejected the certificate as invalid`, {
            status,
            hint: 'the key may not match, or the PEM is malformed; the certificate is kept in the state store',
          })
        : new ExpiredCertificateError(`${what}: the cluster considers the certificate expired`, {
            status,
            hint: "check the clocks of the cluster's nodes and the certificate's validity",
          });
    }
    if (method === 'GET' && status === 400)
      return new UnexpectedStatusError(`${what}: the cluster refused the request's parameters`, {
        status,
        hint: "the cluster refused the request's parameters (page, page_size): its database certificates cannot be listed; report it with the RS version",
      });
    return this.statusError(method, path, response, certificate);
  }

  private async getJson(path: string): Promise<unknown> {
    const response = await this.transport.send('GET', path);
    if (response.status !== 200) throw this.statusError('GET', path, response);
    return this.parseBody(path, response);
  }

  close(): void {
    this.transport.close();
  }

  /**
   * What a 401 means depends on what was sent: Basic refused because RS 8.2 turned it off (the
   * answer says so), a client certificate refused, or a wrong username or password.
   */
  private authenticationError(what: string, response: RawResponse): ClusterApiError {
    const status = 401;
    const said = describeBody(response.body);
    const { basic, certificate } = this.authentication;
    if (basic && /basic/i.test(said) && /disabled|not (allowed|permitted|enabled)|turned off/i.test(said))
      return new BasicAuthDisabledError(
        `${what}: the cluster has Basic authentication turned off (control_plane_basic_authentication: false, RS 8.2+): no password logs in`,
        {
          status,
          hint: 'configure "clientCertificate" for this cluster (a client certificate issued by a CA in its mtls_trusted_ca, for a user with auth_method certificate)',
        },
      );
    if (certificate && !basic)
      return new ClientCertificateRefusedError(`${what}: the cluster refused the client certificate`, {
        status,
        hint: "check clientCertificate: issued by a CA of the cluster's mtls_trusted_ca, valid, with the clientAuth usage, its subject a user's certificate_subject_line, and mtls_certificate_authentication on",
      });
    return new AuthenticationError(
      `${what}: ${certificate ? 'neither the client certificate nor the username and password was accepted' : 'the username or password was refused'}`,
      {
        status,
        hint: certificate
          ? 'check the cluster credentials and clientCertificate'
          : 'check the cluster credentials (password, passwordEnv or credentialsSecret); on RS 8.2+ with Basic authentication turned off, log in with "clientCertificate" instead',
      },
    );
  }

  /** Maps a non-200 answer to its named error. Only PUT and POST bodies may be quoted: GET bodies can hold keys. */
  private statusError(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    response: RawResponse,
    certificate?: string,
  ): ClusterApiError {
    const { status } = response;
    const said = method === 'GET' ? '' : describeBody(response.body);
    const what = `cluster "${this.cluster}": ${method} ${path}${certificate ? ` (${certificate})` : ''} answered ${status}${said}`;
    const options = (hint: string) => ({ status, hint });

    if (status === 401) return this.authenticationError(what, response);
    if (method === 'PUT') {
      const cipher =
        status === 400 || status === 406 ? cipherRefusal(what, response, status, certificate ?? '') : null;
      if (cipher) return cipher;
      switch (status) {
        case 400:
        case 404:
          return new InvalidCertificateError(
            `${what}: the cluster rejected the certificate as invalid`,
            options(
              'the key may not match, or the PEM is malformed; the certificate is kept in the state store',
            ),
          );
        case 403:
          return new UnknownCertificateError(
            `${what}: the cluster does not know certificate "${certificate}"`,
            options('check the certificate name in the configuration against GET /v1/cluster/certificates'),
          );
        case 406:
          return new ExpiredCertificateError(
            `${what}: the cluster considers the certificate expired`,
            options("check the clocks of the cluster's nodes and the certificate's validity"),
          );
        case 409:
          return new NodesNotUpdatedError(
            `${what}: not all nodes have been updated; the cluster is half-updated`,
            options('push the same certificate again; check node health with GET /v1/nodes'),
          );
      }
    }
    if (method === 'GET' && status === 403) {
      return new PermissionDeniedError(
        `${what}: the user lacks permission to read this`,
        options('give the user a role with view_cluster_info'),
      );
    }
    if (status >= 500)
      return new ClusterServerError(
        `${what}: the cluster had an internal error`,
        options("check the cluster's health; the next run tries again"),
      );
    return new UnexpectedStatusError(
      `${what}: a status the RS API does not document for this request`,
      options('check the endpoint is an RS REST API'),
    );
  }
}

/** Page size of GET /v1/bdbs/certificates, and the most pages read (100,000 databases). */
export const DATABASE_CERTIFICATE_PAGE_SIZE = 100;
export const DATABASE_CERTIFICATE_MAX_PAGES = 1_000;

/** A database's own certificate, as GET /v1/bdbs/certificates lists it (RS never returns its key). */
export interface RsDatabaseCertificate {
  bdbUid: string;
  /** Undefined when `cert` is not a string: the row is reported invalid (see `field`), never dropped. */
  certificatePem: string | undefined;
  /** `cert` as the cluster answered it (a string, or a wrong shape such as 42 or null). */
  field: unknown;
  notBefore: string | null;
  notAfter: string | null;
}

export interface RsDatabaseEndpoint {
  dnsAddress: string | null;
  addresses: string[];
  port: number;
}

export interface RsDatabase {
  uid: string;
  name: string | null;
  tlsMode: string | null;
  endpoints: RsDatabaseEndpoint[];
}

function parseDatabaseCertificate(item: unknown): RsDatabaseCertificate | null {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return null;
  const r = item as Record<string, unknown>;
  const uid = typeof r.bdb_uid === 'number' ? String(r.bdb_uid) : r.bdb_uid;
  if (typeof uid !== 'string' || !/^[1-9]\d*$/.test(uid)) return null;
  return {
    bdbUid: uid,
    certificatePem: typeof r.cert === 'string' ? r.cert : undefined,
    field: r.cert,
    notBefore: typeof r.not_before === 'string' ? r.not_before : null,
    notAfter: typeof r.not_after === 'string' ? r.not_after : null,
  };
}

function parseDatabase(item: unknown): RsDatabase | null {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return null;
  const r = item as Record<string, unknown>;
  const uid = typeof r.uid === 'number' || typeof r.uid === 'string' ? String(r.uid) : null;
  if (uid === null) return null;
  const endpoints = Array.isArray(r.endpoints)
    ? r.endpoints.flatMap((e: unknown) => {
        const o = (e ?? {}) as Record<string, unknown>;
        if (typeof o.port !== 'number') return [];
        return [
          {
            dnsAddress: typeof o.dns_address === 'string' ? o.dns_address : null,
            addresses: Array.isArray(o.addr) ? o.addr.filter((a): a is string => typeof a === 'string') : [],
            port: o.port,
          },
        ];
      })
    : [];
  return {
    uid,
    name: typeof r.name === 'string' ? r.name : null,
    tlsMode: typeof r.tls_mode === 'string' ? r.tls_mode : null,
    endpoints,
  };
}

/**
 * RS 8.2 checks a certificate against the cipher suites it will be served with: a refusal says so
 * (error_code or description naming cipher suites). Its fix is the certificate's key type.
 */
function cipherRefusal(
  what: string,
  response: RawResponse,
  status: number,
  certificate: string,
): CipherSuiteMismatchError | null {
  const said = describeBody(response.body);
  if (!/cipher/i.test(said)) return null;
  // The fix is in the message too: a Step Functions Catch hands on the message, not the hint.
  return new CipherSuiteMismatchError(
    `${what}: the certificate's key does not suit the cluster's cipher suites; set "keyType" of ${certificate || 'the certificate'} to a key type they allow`,
    {
      status,
      hint: `set "keyType" of ${certificate || 'the certificate'} to the key type the cluster's cipher suites allow ("rsa-2048" when they have no ECDSA suite), or add suites for its key (rladmin cluster config control_cipher_suites / data_cipher_suites); the next run orders a new certificate`,
    },
  );
}

/** RS answers errors as {"error_code", "description"}; quote only those, and briefly. */
function describeBody(body: string): string {
  const result = parseBoundedJson(body, ERROR_BODY_JSON_LIMITS);
  if (!result.ok || result.value === null || typeof result.value !== 'object') return '';
  const parsed = result.value as { error_code?: unknown; description?: unknown };
  const parts = [parsed.error_code, parsed.description].filter((p): p is string => typeof p === 'string');
  return parts.length ? ` (${parts.join(': ').slice(0, 200)})` : '';
}

export interface RsCrdb {
  guid: string;
  name: string;
}

export type CrdbTaskStatus = 'queued' | 'started' | 'finished' | 'failed';

export interface RsCrdbTask {
  id: string;
  status: CrdbTaskStatus | string;
  /** `errors[].description` of a failed task. */
  errors: string[];
}

function parseCrdbTask(cluster: string, path: string, parsed: unknown): RsCrdbTask {
  const t = (parsed ?? {}) as Record<string, unknown>;
  if (typeof t.id !== 'string' || typeof t.status !== 'string')
    throw new BadResponseError(`cluster "${cluster}": ${path} did not return a task (id, status)`);
  const errors = Array.isArray(t.errors)
    ? t.errors.flatMap((e: unknown) => {
        const r = (e ?? {}) as Record<string, unknown>;
        const text = [r.error_code, r.description].filter((p) => typeof p === 'string').join(': ');
        return text ? [text.slice(0, 300)] : [];
      })
    : [];
  return { id: t.id, status: t.status, errors };
}

/** The certificate names of a bulk request that a refusal's description quotes (RS: 'proxy'). */
function refusedCertificates(body: string, names: readonly string[]): string[] {
  let description = '';
  try {
    const parsed = JSON.parse(body) as { description?: unknown };
    if (typeof parsed.description === 'string') description = parsed.description;
  } catch {
    return [];
  }
  return names.filter((n) => description.includes(`'${n}'`) || description.includes(`"${n}"`));
}

/** A client for one cluster, over the transport the connector opens. */
export function openRsClient(connect: ClusterConnector, connection: RsConnection): RsClient {
  return new RsClient(connection.cluster, connect(connection), {
    basic: connection.username !== '' && connection.password !== '',
    certificate: connection.clientCertificate !== undefined,
  });
}
