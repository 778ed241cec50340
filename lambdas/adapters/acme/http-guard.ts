/**
 * acme-client's HTTP layer (an axios instance shared by the whole process) retries network errors
 * for about 75 s and then fails with a misleading TypeError, follows any Retry-After without bound,
 * and reduces every problem document to its `detail` text. This guard sits first in its response
 * chain to: fail fast with the real cause on TLS and network errors, refuse to wait out a
 * `rateLimited` answer (the schedule tries later), cap other Retry-After waits, and remember the last
 * problem type of each order (through AsyncLocalStorage) so errors can be mapped by type, not text.
 *
 * It also keeps a small nonce pool. acme-client's HttpClient sends a HEAD new-nonce before every
 * signed request and ignores the Replay-Nonce that every ACME answer carries (RFC 8555 §6.5): one
 * extra round trip per request. The guard keeps each answer's Replay-Nonce and answers the next HEAD
 * new-nonce from the pool without touching the network. A nonce is handed out once; a badNonce
 * answer's nonce is left to acme-client (it retries with it itself), so its retry path is unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import acme from 'acme-client';
import {
  AcmeError,
  AcmeRateLimitedError,
  AcmeResponseTooLargeError,
  AcmeTrustError,
} from '../../domain/errors';
import { ACME_ORDER } from '../../domain/retry';
import { classifyTlsFailure } from '../tls/errors';
import { trustContext } from '../tls/trust';

export interface AcmeProblem {
  type: string;
  detail: string;
  status: number;
}

export interface AcmeOrderContext {
  lastProblem: AcmeProblem | null;
  badNonces: number;
  /** The order's certificate URL once finalized: its download may be as large as a chain. */
  certificateUrl?: string | undefined;
}

/**
 * Largest response accepted from the ACME server. A chain is a few KB (Let's Encrypt's is ~4 KB with
 * its intermediate); 1 MB leaves room for long alternate chains. Every other answer is JSON of a few
 * KB (a directory, an order of 100 names). Refused while arriving: axios stops reading at the limit.
 */
export const ACME_MAX_CHAIN_BYTES = 1024 * 1024;
export const ACME_MAX_JSON_BYTES = 256 * 1024;
/** Our requests are JWS of a CSR at most: a few KB. */
const ACME_MAX_REQUEST_BYTES = 256 * 1024;

const context = new AsyncLocalStorage<AcmeOrderContext>();
let installed = false;

/**
 * Nonces kept per ACME server (origin), newest last. A CA may expire unused nonces; one older than
 * this is dropped rather than risking a badNonce round trip (the retry would still recover).
 */
const NONCE_MAX_AGE_MS = 30_000;
const NONCE_POOL_SIZE = 8;
const noncePool = new Map<string, Array<{ nonce: string; at: number }>>();

/** How many new-nonce HEADs the pool answered, and how many went to the server (for tests and bench). */
export const nonceStats = { served: 0, fetched: 0 };

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function keepNonce(url: string | undefined, nonce: unknown): void {
  const origin = originOf(url);
  if (!origin || typeof nonce !== 'string' || nonce === '') return;
  const pool = noncePool.get(origin) ?? [];
  pool.push({ nonce, at: Date.now() });
  if (pool.length > NONCE_POOL_SIZE) pool.shift();
  noncePool.set(origin, pool);
}

function takeNonce(url: string | undefined): string | undefined {
  const origin = originOf(url);
  const pool = origin ? noncePool.get(origin) : undefined;
  if (!pool) return undefined;
  const now = Date.now();
  for (let entry = pool.pop(); entry; entry = pool.pop()) {
    if (now - entry.at <= NONCE_MAX_AGE_MS) return entry.nonce;
  }
  return undefined;
}

/** Forgets every pooled nonce (tests; a new CA trust). */
export function clearNoncePool(): void {
  noncePool.clear();
}

interface AxiosLikeResponse {
  status: number;
  headers: Record<string, string | undefined>;
  data?: unknown;
  config?: { url?: string; method?: string };
}

/**
 * Remembers the Replay-Nonce of an answer unless acme-client will use it itself: the answer to a
 * HEAD new-nonce (getNonce returns it) and a badNonce problem (signedRequest retries with it).
 */
function captureNonce(response: AxiosLikeResponse | undefined): void {
  if (!response) return;
  const method = (response.config?.method ?? '').toLowerCase();
  if (method === 'head') return;
  const problem = asProblem(response.status, response.data);
  if (problem?.type.endsWith(':badNonce')) return;
  keepNonce(response.config?.url, response.headers['replay-nonce']);
}

/** Longest Retry-After we honour inside one run (server errors); longer waits are left to the schedule. */
const MAX_RETRY_AFTER_SECONDS = ACME_ORDER.maxRetryAfterSeconds;

interface AxiosLikeError {
  code?: string;
  message: string;
  config?: { url?: string };
  response?: AxiosLikeResponse;
}

export function installAcmeHttpGuard(trustPem: string | undefined): void {
  const axios = acme.axios;
  // One process talks to one ACME CA: the trust is process-wide like acme-client's axios instance.
  // A secure context built once: passing `ca` instead re-parses ~140 roots on every connection
  // (~23 ms each; acme-client opens one per nonce), making an order about 8x slower.
  axios.defaults.httpsAgent = new Agent({
    keepAlive: true,
    secureContext: trustContext(trustPem ? [trustPem] : []),
  });
  axios.defaults.timeout = ACME_ORDER.requestTimeoutMs;
  // A new trust may mean another CA behind the same name: start without nonces.
  clearNoncePool();
  if (installed) return;
  installed = true;
  const handler = {
    fulfilled: (value: unknown) => {
      captureNonce(value as AxiosLikeResponse);
      return value;
    },
    // acme-client makes every answer an error first (validateStatus false) and settles it later.
    rejected: (error: AxiosLikeError) => {
      captureNonce(error.response);
      return inspectError(error);
    },
    synchronous: false,
    runWhen: null,
  };
  // Axios runs response interceptors in registration order and offers no public way to go first;
  // `handlers` is the InterceptorManager's documented-in-source storage.
  const manager = axios.interceptors.response as unknown as { handlers: unknown[] };
  manager.handlers.unshift(handler);
  // Every request carries its own response cap: the certificate download up to a chain's, the rest JSON's.
  axios.interceptors.request.use((config) => {
    const certificateUrl = context.getStore()?.certificateUrl;
    config.maxContentLength =
      certificateUrl !== undefined && config.url === certificateUrl
        ? ACME_MAX_CHAIN_BYTES
        : ACME_MAX_JSON_BYTES;
    config.maxBodyLength = ACME_MAX_REQUEST_BYTES;
    // acme-client's only HEAD is getNonce(): answer it from the pool when a fresh nonce is there.
    if ((config.method ?? '').toLowerCase() === 'head') {
      const nonce = takeNonce(config.url);
      if (nonce !== undefined) {
        nonceStats.served++;
        config.adapter = async (cfg) => ({
          data: '',
          status: 200,
          statusText: 'OK (pooled Replay-Nonce)',
          headers: { 'replay-nonce': nonce },
          config: cfg,
          request: null,
        });
      } else nonceStats.fetched++;
    }
    return config;
  });
}

function inspectError(error: AxiosLikeError): Promise<never> {
  const url = error.config?.url ?? 'the ACME server';
  const response = error.response;
  if (!response) {
    const code = error.code ?? '';
    const cap = /maxContentLength size of (\d+) exceeded/.exec(error.message);
    if (cap) {
      return Promise.reject(
        new AcmeResponseTooLargeError(
          `${safeHost(url)} sent a response larger than ${cap[1]} bytes to ${safePath(url)}; refused unread`,
          {
            hint: 'a certificate chain is at most 1 MB and other ACME answers a few KB: check acme.directoryUrl points at an ACME CA and nothing in between rewrites its answers',
          },
        ),
      );
    }
    if (classifyTlsFailure(error) !== null) {
      return Promise.reject(
        new AcmeTrustError(
          `the TLS certificate of ${safeHost(url)} is not trusted (${code || error.message})`,
          {
            hint: "set acme.caFile to the CA of the ACME server's TLS certificate",
          },
        ),
      );
    }
    return Promise.reject(
      new AcmeError(`cannot reach ${safeHost(url)}: ${code || error.message}`, {
        hint: 'check acme.directoryUrl and egress to the ACME CA',
      }),
    );
  }
  const problem = asProblem(response.status, response.data);
  const ctx = context.getStore();
  if (problem && ctx) {
    ctx.lastProblem = problem;
    if (problem.type.endsWith(':badNonce')) ctx.badNonces++;
  }
  if (problem?.type.endsWith(':rateLimited') || response.status === 429) {
    const retryAfter = parseRetryAfter(response.headers['retry-after']);
    return Promise.reject(
      new AcmeRateLimitedError(
        `the ACME CA rate-limited us: ${problem?.detail ?? `HTTP ${response.status}`}` +
          (retryAfter ? `; retry after ${retryAfter.toISOString()}` : ''),
        {
          ...(retryAfter ? { retryAfter } : {}),
          hint: 'nothing was hammered; the next scheduled run tries again after that time',
        },
      ),
    );
  }
  // Let acme-client retry 5xx as it does, but never wait longer than MAX_RETRY_AFTER_SECONDS.
  const header = response.headers['retry-after'];
  if (header !== undefined) {
    const seconds = Number(header);
    const capped = Number.isFinite(seconds)
      ? Math.min(seconds, MAX_RETRY_AFTER_SECONDS)
      : MAX_RETRY_AFTER_SECONDS;
    response.headers['retry-after'] = String(capped);
  }
  return Promise.reject(error);
}

/** Runs one ACME order with its own problem memory. */
export function withAcmeContext<T>(fn: (ctx: AcmeOrderContext) => Promise<T>): Promise<T> {
  const ctx: AcmeOrderContext = { lastProblem: null, badNonces: 0, certificateUrl: undefined };
  return context.run(ctx, () => fn(ctx));
}

function asProblem(status: number, data: unknown): AcmeProblem | null {
  if (data && typeof data === 'object' && typeof (data as { type?: unknown }).type === 'string') {
    const d = data as { type: string; detail?: unknown };
    return { type: d.type, detail: typeof d.detail === 'string' ? d.detail : '', status };
  }
  return null;
}

function parseRetryAfter(header: string | undefined): Date | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return new Date(Date.now() + seconds * 1000);
  const date = new Date(header);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return 'an ACME URL';
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the ACME server';
  }
}
