/**
 * HTTPS transport to the RS REST API: trust, timeouts and retries, nothing about endpoints.
 *
 * Built on node:https rather than undici: it costs the Lambda bundle nothing (the check function's
 * budget is 300 KB) and gives the same control over TLS trust, per-socket timeouts and keep-alive.
 */
import { Agent, type AgentOptions, type RequestOptions, request } from 'node:https';
import type { Duplex } from 'node:stream';
import { checkServerIdentity, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import { RS_JSON_LIMITS } from '../../domain/bounded-json';
import {
  BadResponseError,
  ClientCertificateRefusedError,
  ClientCertificateStoreError,
  ClusterNetworkError,
  ClusterTimeoutError,
  TlsProtocolError,
  TlsTrustError,
  type WatchdogError,
} from '../../domain/errors';
import type { ClusterTransport, HttpMethod, RawResponse } from '../../domain/ports/cluster-transport';
import { type BackoffPolicy, backoffDelayMs, sleep } from '../../domain/retry';
import { classifyTlsFailure, protocolFailureReason } from '../tls/errors';
import { clientContext, trustContext, trustKey } from '../tls/trust';

export interface TransportOptions {
  /** The cluster's name, for messages. */
  cluster: string;
  baseUrl: URL;
  /** Name the server certificate must carry, when it differs from the URL's host. */
  serverName?: string | undefined;
  /** Basic authentication is sent only when both are non-empty. */
  username: string;
  password: string;
  /** Certificate login: presented on every connection (the agent's sockets all carry it). */
  clientCertificate?: { certificatePem: string; keyPem: string } | undefined;
  /** CAs trusted beyond the public roots: the pinned cluster CA, the ACME CA. */
  extraCa: string[];
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Retries of idempotent requests (GET) on network errors and 5xx. */
  getRetries: number;
  retryBackoff: BackoffPolicy;
  /** Largest body accepted (default RS_JSON_LIMITS.maxLength); a certificates response is a few tens of KB. */
  maxBodyBytes?: number;
}

/**
 * A connection failure after retries says what really happened: how many attempts, and how long
 * they took in all (one "within 5000 ms" after 16 s of retries misleads whoever reads it).
 */
function afterAttempts(error: unknown, attempts: number, waitedMs: number): unknown {
  if (attempts < 2) return error;
  const summary = `${attempts} attempts over ${(waitedMs / 1000).toFixed(1)} s`;
  if (error instanceof ClusterTimeoutError)
    return new ClusterTimeoutError(error.phase, `${error.message} (${summary})`, {
      cause: error,
      ...(error.hint ? { hint: error.hint } : {}),
    });
  if (error instanceof ClusterNetworkError)
    return new ClusterNetworkError(`${error.message} (${summary})`, {
      cause: error,
      ...(error.hint ? { hint: error.hint } : {}),
    });
  return error;
}

/**
 * TLS alerts a server sends about the client's certificate (OpenSSL reason codes): with a client
 * certificate presented, the cluster refused it during the handshake.
 */
const CLIENT_CERTIFICATE_ALERT =
  /ALERT_(BAD_CERTIFICATE|CERTIFICATE_(REQUIRED|EXPIRED|REVOKED|UNKNOWN|UNSUPPORTED)|UNKNOWN_CA|ACCESS_DENIED)|alert (bad certificate|certificate (required|expired|revoked|unknown|unsupported)|unknown ca|access denied)/i;

/**
 * TLS sessions per cluster endpoint and trust, kept for the process (a warm Lambda, a CLI checking
 * a fleet): the next check of a cluster resumes its session instead of a full handshake, which
 * skips the chain verification, Node's getPeerCertificate and checkServerIdentity: ~0.5 ms of CPU a
 * cluster (bench/check-shard). A session is only ever resumed under the same pinned trust and
 * server name it was verified with; a server that refuses it gets a full, verified handshake.
 * Certificate logins keep none (a session there also stands for the client's identity). Bounded:
 * the oldest is dropped first; a connection closed on an error drops its endpoint's session.
 */
const sessions = new Map<string, Buffer>();
const SESSION_LIMIT = 10_000;

function rememberSession(key: string, session: Buffer): void {
  sessions.delete(key);
  if (sessions.size >= SESSION_LIMIT) {
    const oldest = sessions.keys().next();
    if (!oldest.done) sessions.delete(oldest.value);
  }
  sessions.set(key, session);
}

/** Forgets every kept TLS session (tests). */
export function forgetTlsSessions(): void {
  sessions.clear();
}

/**
 * The agent of one cluster's check, offering the cluster's kept session when it connects. Given at
 * connection time, not in the request options: those name the agent's socket pool, and a session
 * there would open a second connection for the check's next request.
 */
class ResumingAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly sessionKey: string | undefined,
  ) {
    super(options);
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const session = this.sessionKey ? sessions.get(this.sessionKey) : undefined;
    // tls.connect takes `session`; the https typings of these options do not list it.
    return super.createConnection(session ? ({ ...options, session } as RequestOptions) : options, callback);
  }
}

export class RsTransport implements ClusterTransport {
  private readonly agent: Agent;
  private readonly authorization: string | undefined;
  /** Where this cluster's TLS session is kept; undefined for a certificate login. */
  private readonly sessionKey: string | undefined;
  /** The request target, parsed once: host, port and the base path. */
  private readonly target: { hostname: string; port: string; host: string; basePath: string };

  constructor(private readonly options: TransportOptions) {
    const client = options.clientCertificate;
    let secureContext: SecureContext;
    try {
      // The trust (the cluster's CA, the ACME CA) plus, for certificate login, the client pair.
      secureContext = client
        ? clientContext(options.extraCa, client.certificatePem, client.keyPem)
        : trustContext(options.extraCa);
    } catch (error) {
      // OpenSSL's reason only ("key values mismatch"): never the PEM.
      throw new ClientCertificateStoreError(
        `cluster "${options.cluster}": the client certificate cannot be used: ${(error as NodeJS.ErrnoException).code ?? 'it does not load'}`,
        {
          hint: 'clientCertificate: the key must be the unencrypted private key of the certificate (leaf first)',
        },
      );
    }
    this.sessionKey = client
      ? undefined
      : `${options.baseUrl.host}\0${options.serverName ?? ''}\0${trustKey(options.extraCa)}`;
    this.agent = new ResumingAgent(
      {
        keepAlive: true,
        maxSockets: 4,
        secureContext,
        // A pinned self-signed cluster certificate is verified like any other: never rejectUnauthorized=false.
        rejectUnauthorized: true,
      },
      this.sessionKey,
    );
    const { hostname, port, host, pathname } = options.baseUrl;
    this.target = { hostname: hostname.replace(/^\[(.*)\]$/, '$1'), port, host, basePath: pathname };
    // A cluster that logs in with a certificate only sends no Authorization header at all.
    this.authorization =
      options.username !== '' && options.password !== ''
        ? `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`
        : undefined;
  }

  /** Sends one request. GETs are retried on network errors and 5xx; other methods never are. */
  async send(method: HttpMethod, path: string, body?: unknown): Promise<RawResponse> {
    const retries = method === 'GET' ? this.options.getRetries : 0;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.once(method, path, body);
        if (response.status >= 500 && attempt < retries) {
          await sleep(backoffDelayMs(this.options.retryBackoff, attempt + 1));
          continue;
        }
        return response;
      } catch (error) {
        const retryable =
          error instanceof ClusterNetworkError ||
          (error instanceof ClusterTimeoutError && error.phase === 'connect');
        if (!retryable || attempt >= retries) throw afterAttempts(error, attempt + 1, Date.now() - started);
        await sleep(backoffDelayMs(this.options.retryBackoff, attempt + 1));
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private once(method: string, path: string, body: unknown): Promise<RawResponse> {
    const { baseUrl, cluster, connectTimeoutMs, requestTimeoutMs } = this.options;
    // A relative path against the base, without a URL object per request (the base is parsed once).
    const url =
      path.startsWith('/') && (this.target.basePath === '/' || this.target.basePath === '')
        ? { pathname: path.split('?')[0] as string, host: this.target.host, path }
        : (() => {
            const full = new URL(path, baseUrl);
            return { pathname: full.pathname, host: full.host, path: `${full.pathname}${full.search}` };
          })();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const maxBody = this.options.maxBodyBytes ?? RS_JSON_LIMITS.maxLength;

    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (error: WatchdogError) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(requestTimer);
        req.destroy();
        reject(error);
      };

      const serverName = this.options.serverName;
      const req = request({
        protocol: 'https:',
        hostname: this.target.hostname,
        port: this.target.port || 443,
        path: url.path,
        method,
        agent: this.agent,
        ...(serverName
          ? {
              servername: serverName,
              checkServerIdentity: (_host: string, cert: PeerCertificate) =>
                checkServerIdentity(serverName, cert),
            }
          : {}),
        headers: {
          Accept: 'application/json',
          ...(this.authorization ? { Authorization: this.authorization } : {}),
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
        },
      });

      const connectTimer = setTimeout(
        () =>
          fail(
            new ClusterTimeoutError(
              'connect',
              `cluster "${cluster}": no TLS connection to ${url.host} within ${connectTimeoutMs} ms`,
              {
                hint: 'check the endpoint, security groups and that the REST API (port 9443) is reachable; connectTimeoutSeconds sets the time allowed per attempt',
              },
            ),
          ),
        connectTimeoutMs,
      );
      connectTimer.unref();
      const requestTimer = setTimeout(
        () =>
          fail(
            new ClusterTimeoutError(
              'request',
              `cluster "${cluster}": ${method} ${url.pathname} did not complete within ${requestTimeoutMs} ms`,
              { hint: 'the cluster is slow or overloaded; raise timeoutSeconds if this persists' },
            ),
          ),
        requestTimeoutMs,
      );
      requestTimer.unref();

      req.on('socket', (socket) => {
        const tls = socket as TLSSocket;
        // A kept-alive socket is already connected; a new one is connected once the handshake
        // (including certificate verification) is done. Credentials travel only after that.
        if (!tls.connecting && tls.encrypted) clearTimeout(connectTimer);
        else {
          tls.once('secureConnect', () => clearTimeout(connectTimer));
          const key = this.sessionKey;
          if (key) {
            tls.on('session', (ticket: Buffer) => rememberSession(key, ticket));
            tls.once('close', (hadError: boolean) => {
              if (hadError) sessions.delete(key);
            });
          }
        }
      });

      req.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? '';
        const tls = classifyTlsFailure(error);
        if (
          this.options.clientCertificate &&
          (CLIENT_CERTIFICATE_ALERT.test(code) || CLIENT_CERTIFICATE_ALERT.test(error.message))
        ) {
          fail(
            new ClientCertificateRefusedError(
              `cluster "${cluster}": ${url.host} refused the client certificate during the TLS handshake (${code || error.message})`,
              {
                cause: error,
                hint: "check clientCertificate: issued by a CA of the cluster's mtls_trusted_ca, not expired, with the clientAuth usage",
              },
            ),
          );
        } else if (tls === 'protocol') {
          fail(
            new TlsProtocolError(
              `cluster "${cluster}": TLS handshake with ${url.host} failed: ${protocolFailureReason(error)} (${code || error.message}); no credentials were sent`,
              {
                cause: error,
                hint: 'the cluster (or a proxy in front of it) must offer TLS 1.2 or 1.3 with a modern cipher; check its TLS settings (rladmin cluster config min_control_TLS_version)',
              },
            ),
          );
        } else if (tls === 'untrusted') {
          fail(
            new TlsTrustError(
              `cluster "${cluster}": the TLS certificate of ${url.host} is not trusted (${code || error.message}); no credentials were sent`,
              { cause: error, hint: "set the cluster's caFile to the CA that signed its api certificate" },
            ),
          );
        } else {
          fail(
            new ClusterNetworkError(
              `cluster "${cluster}": ${method} ${url.pathname} failed: ${code || error.message}`,
              {
                cause: error,
                hint: 'check that the endpoint is right and reachable',
              },
            ),
          );
        }
      });

      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        // Refused as it arrives (or from its announced length), never buffered whole: one cluster's
        // oversized answer is that cluster's BadResponseError, and costs the process at most maxBody.
        const tooLarge = () =>
          fail(
            new BadResponseError(
              `cluster "${cluster}": the response to ${method} ${url.pathname} exceeds ${maxBody} bytes; refused unread`,
              {
                status: res.statusCode ?? 0,
                hint: 'the endpoint is not an RS REST API, or a proxy in front of it is misbehaving; other clusters are unaffected',
              },
            ),
          );
        if (Number(res.headers['content-length'] ?? 0) > maxBody) {
          tooLarge();
          return;
        }
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBody) {
            tooLarge();
            return;
          }
          chunks.push(chunk);
        });
        res.on('aborted', () =>
          fail(
            new ClusterNetworkError(
              `cluster "${cluster}": the response to ${method} ${url.pathname} was cut off`,
            ),
          ),
        );
        res.on('error', () =>
          fail(
            new ClusterNetworkError(
              `cluster "${cluster}": the response to ${method} ${url.pathname} was cut off`,
            ),
          ),
        );
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(connectTimer);
          clearTimeout(requestTimer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      });

      req.end(payload);
    });
  }
}
