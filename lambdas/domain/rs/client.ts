/**
 * The RS REST API endpoints this project uses, with every documented status code mapped to a named
 * error (../../../README.md#error-names). Reference: docs "Cluster certificates requests" (RS 7.4).
 */
import { inspect } from 'node:util';
import {
  AuthenticationError,
  BadResponseError,
  type ClusterApiError,
  ClusterServerError,
  ExpiredCertificateError,
  InvalidCertificateError,
  NodesNotUpdatedError,
  PermissionDeniedError,
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
 */
export class ClusterCertificateSet {
  readonly #fields: ReadonlyMap<string, string>;

  constructor(fields: Record<string, string>) {
    this.#fields = new Map(Object.entries(fields));
  }

  /** Every certificate name, from the `<name>_cert` fields, in the order the cluster gave them. */
  names(): string[] {
    return [...this.#fields.keys()]
      .filter((k) => k.endsWith('_cert'))
      .map((k) => k.slice(0, -'_cert'.length));
  }

  certificate(name: string): string | undefined {
    return this.#fields.get(`${name}_cert`);
  }

  key(name: string): string | undefined {
    return this.#fields.get(`${name}_key`);
  }

  toJSON(): { certificates: string[] } {
    return { certificates: this.names() };
  }

  [inspect.custom](): string {
    return `ClusterCertificateSet { ${this.names().join(', ')} } (keys hidden)`;
  }
}

export class RsClient {
  constructor(
    readonly cluster: string,
    private readonly transport: ClusterTransport,
  ) {}

  /** GET /v1/cluster/certificates. 200 is the only documented answer; anything else is mapped. */
  async getCertificates(): Promise<ClusterCertificateSet> {
    const response = await this.transport.send('GET', '/v1/cluster/certificates');
    if (response.status !== 200) throw this.statusError('GET', '/v1/cluster/certificates', response);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      // The body holds private keys: say what is wrong without quoting any of it.
      throw new BadResponseError(
        `cluster "${this.cluster}": GET /v1/cluster/certificates returned malformed JSON (${response.body.length} bytes)`,
        { status: 200, hint: 'the response was cut off or is not from the RS REST API' },
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new BadResponseError(
        `cluster "${this.cluster}": GET /v1/cluster/certificates did not return an object`,
        {
          status: 200,
        },
      );
    }
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') fields[key] = value;
    return new ClusterCertificateSet(fields);
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
    const response = await this.transport.send('GET', '/v1/nodes');
    if (response.status !== 200) throw this.statusError('GET', '/v1/nodes', response);
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw new BadResponseError(`cluster "${this.cluster}": GET /v1/nodes returned malformed JSON`, {
        status: 200,
      });
    }
    if (!Array.isArray(parsed))
      throw new BadResponseError(`cluster "${this.cluster}": GET /v1/nodes did not return a list`);
    return parsed.flatMap((node: unknown) => {
      if (node === null || typeof node !== 'object') return [];
      const n = node as Record<string, unknown>;
      if (typeof n.uid !== 'number' || typeof n.addr !== 'string') return [];
      return [
        {
          uid: n.uid,
          addr: n.addr,
          status: typeof n.status === 'string' ? n.status : 'unknown',
        },
      ];
    });
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
  try {
    const parsed = JSON.parse(body) as { error_code?: unknown; description?: unknown };
    const parts = [parsed.error_code, parsed.description].filter((p): p is string => typeof p === 'string');
    return parts.length ? ` (${parts.join(': ').slice(0, 200)})` : '';
  } catch {
    return '';
  }
}

/** A client for one cluster, over the transport the connector opens. */
export function openRsClient(connect: ClusterConnector, connection: RsConnection): RsClient {
  return new RsClient(connection.cluster, connect(connection));
}
