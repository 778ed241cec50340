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
  type ClusterApiError,
  ClusterServerError,
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

export class RsClient {
  constructor(
    readonly cluster: string,
    private readonly transport: ClusterTransport,
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

  private async getJson(path: string): Promise<unknown> {
    const response = await this.transport.send('GET', path);
    if (response.status !== 200) throw this.statusError('GET', path, response);
    return this.parseBody(path, response);
  }

  close(): void {
    this.transport.close();
  }

  /** Maps a non-200 answer to its named error. Only PUT and POST bodies may be quoted: GET bodies can hold keys. */
  private statusError(
    method: 'GET' | 'PUT' | 'POST',
    path: string,
    response: RawResponse,
    certificate?: string,
  ): ClusterApiError {
    const { status } = response;
    const said = method === 'GET' ? '' : describeBody(response.body);
    const what = `cluster "${this.cluster}": ${method} ${path}${certificate ? ` (${certificate})` : ''} answered ${status}${said}`;
    const options = (hint: string) => ({ status, hint });

    if (status === 401)
      return new AuthenticationError(
        `${what}: the username or password was refused`,
        options('check the cluster credentials (password, passwordEnv or credentialsSecret)'),
      );
    if (method === 'PUT') {
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
  return new RsClient(connection.cluster, connect(connection));
}
