/**
 * A test ACME Renewal Information server (RFC 9773) in front of Pebble 2.4, which has neither ARI nor
 * profiles. A transparent HTTPS reverse proxy on 127.0.0.1 that:
 * - adds `renewalInfo` and `meta.profiles` to the directory;
 * - answers `GET /renewal-info/<certID>` itself (no JWS), with windows or errors set by the test;
 * - records every newOrder payload (decoded from the flattened JWS) so tests can assert `replaces` and
 *   `profile`, and can refuse an order with `alreadyReplaced` or `invalidProfile`;
 * - forwards everything else to Pebble unchanged.
 *
 * Pebble 2.4 ignores unknown newOrder fields (`replaces`, `profile`, anything else: Go's JSON decoding),
 * so a newOrder is forwarded as signed; it does not echo them, so this proxy adds them to the order
 * objects it returns (newOrder, the order URL, finalize). Pebble still issues its own lifetime whatever
 * the profile. The Host header passes through, so every URL Pebble returns points back at the proxy and
 * each JWS `url` matches without re-signing.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpsRequest, type RequestOptions, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PebbleEnv } from './pebble';
import { createCa, issueCert } from './pki';

// ---- certID (RFC 9773 §4.1): the independent test oracle ----------------------------------------

/** certID from raw bytes: base64url(AKI keyIdentifier) "." base64url(DER serial content octets), no padding. */
export function certIdFrom(akiKeyIdentifier: Uint8Array, serialDerContent: Uint8Array): string {
  return `${Buffer.from(akiKeyIdentifier).toString('base64url')}.${Buffer.from(serialDerContent).toString('base64url')}`;
}

interface Tlv {
  tag: number;
  /** First content octet. */
  start: number;
  /** One past the last content octet. */
  end: number;
}

/** One DER TLV at `pos` (low tag numbers only, which is all X.509 uses). */
function readTlv(der: Uint8Array, pos: number): Tlv {
  const tag = der[pos];
  let len = der[pos + 1];
  if (tag === undefined || len === undefined) throw new Error(`DER: truncated at ${pos}`);
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error(`DER: unsupported length form at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[p++] ?? 0);
  }
  if (p + len > der.length) throw new Error(`DER: length past the end at ${pos}`);
  return { tag, start: p, end: p + len };
}

function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readTlv(der, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

const AKI_OID = Buffer.from([0x55, 0x1d, 0x23]); // 2.5.29.35

/** The AKI keyIdentifier and the serial's DER content octets (a leading 0x00 kept) of a certificate. */
export function ariCertIdParts(cert: X509Certificate | string | Buffer): { aki: Buffer; serial: Buffer } {
  const der = cert instanceof X509Certificate ? cert.raw : new X509Certificate(cert).raw;
  const certificate = readTlv(der, 0);
  const [tbsTlv] = childrenOf(der, certificate);
  if (!tbsTlv) throw new Error('certificate has no tbsCertificate');
  const tbs = childrenOf(der, tbsTlv);
  // tbsCertificate: [0] version (optional), serialNumber INTEGER, ..., [3] extensions.
  const serialTlv = tbs[0]?.tag === 0xa0 ? tbs[1] : tbs[0];
  if (serialTlv?.tag !== 0x02) throw new Error('certificate serialNumber not found');
  const extsWrapper = tbs.find((t) => t.tag === 0xa3);
  const extsSeq = extsWrapper && childrenOf(der, extsWrapper)[0];
  let aki: Buffer | undefined;
  for (const ext of extsSeq ? childrenOf(der, extsSeq) : []) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const parts = childrenOf(der, ext);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (oid?.tag !== 0x06 || value?.tag !== 0x04) continue;
    if (!AKI_OID.equals(der.subarray(oid.start, oid.end))) continue;
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, ... }
    const keyId = childrenOf(der, readTlv(der, value.start)).find((t) => t.tag === 0x80);
    if (keyId) aki = Buffer.from(der.subarray(keyId.start, keyId.end));
  }
  if (!aki) throw new Error('certificate has no authority key identifier keyIdentifier');
  return { aki, serial: Buffer.from(der.subarray(serialTlv.start, serialTlv.end)) };
}

/** RFC 9773 certID of a certificate (PEM, DER or X509Certificate). */
export function ariCertId(cert: X509Certificate | string | Buffer): string {
  const { aki, serial } = ariCertIdParts(cert);
  return certIdFrom(aki, serial);
}

// ---- the server ------------------------------------------------------------------------------

export interface RenewalWindow {
  start: Date | string;
  end: Date | string;
  explanationURL?: string;
  /** Retry-After in seconds for this answer; default the server's `retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

export interface RenewalInfoFailure {
  status: number;
  /** Only this certID (default: any). */
  certId?: string;
  /** How many requests get the failure; default 'always'. */
  times?: number | 'always';
  /** Default `serverInternal` for 5xx, `malformed` otherwise. */
  problemType?: string;
  detail?: string;
  retryAfterSeconds?: number;
}

export interface AriServerOptions {
  /** `meta.profiles` in the directory (name -> description); null leaves it out. Default DEFAULT_PROFILES. */
  profiles?: Record<string, string> | null;
  /** Add `renewalInfo` to the directory (default true): false imitates a CA without ARI. */
  advertiseRenewalInfo?: boolean;
  /**
   * Window for a certID with none set; null answers 404 (unknown certificate) instead.
   * Default: from 30 to 32 days after the request (renewal not due).
   */
  defaultWindow?: RenewalWindow | null;
  /** Retry-After of renewalInfo answers, default 21 600 (six hours, as Let's Encrypt). */
  retryAfterSeconds?: number;
  /** Refuse a newOrder naming a profile not in `profiles` with invalidProfile (400). Default true. */
  rejectUnknownProfile?: boolean;
  /** Where caFile is written; default a temp dir removed by close(). */
  dir?: string;
}

export interface NewOrderRecord {
  /** The decoded JWS payload: identifiers, notBefore/notAfter, replaces, profile, anything else sent. */
  payload: NewOrderPayload;
  /** The decoded JWS protected header (alg, kid, nonce, url). */
  protectedHeader: Record<string, unknown>;
  /** What the client got: Pebble's status, or ours when refused. */
  status: number;
  /** The problem type when refused here (alreadyReplaced, invalidProfile) or by Pebble. */
  problemType?: string;
  /** The order URL (Location) when Pebble created it. */
  orderUrl?: string;
}

export interface NewOrderPayload {
  identifiers?: Array<{ type: string; value: string }>;
  notBefore?: string;
  notAfter?: string;
  replaces?: string;
  profile?: string;
  [field: string]: unknown;
}

export interface RenewalInfoRequest {
  certId: string;
  method: string;
  status: number;
}

export interface AriServer {
  /** https://127.0.0.1:<port>/dir: give this to the ACME client. */
  directoryUrl: string;
  /** https://127.0.0.1:<port> */
  origin: string;
  /** https://127.0.0.1:<port>/renewal-info (what the directory advertises). */
  renewalInfoUrl: string;
  /** The throwaway CA of the proxy's TLS certificate (all a client needs to trust to talk ACME). */
  tlsCaPem: string;
  /** tlsCaPem + Pebble's issuing root and intermediate: usable as the config's acme.caFile. */
  caFile: string;
  /** Every certID asked for, in order, with the status answered. */
  renewalInfoRequests: RenewalInfoRequest[];
  /** Every newOrder, in order. */
  newOrders: NewOrderRecord[];
  /** Every request through the proxy (method, path, status). */
  hits: Array<{ method: string; path: string; status: number }>;
  setWindow(certId: string, window: RenewalWindow): void;
  /** null: unknown certIDs answer 404. */
  setDefaultWindow(window: RenewalWindow | null): void;
  /** Makes renewalInfo answer an error; failures are tried in the order added. */
  failRenewalInfo(failure: RenewalInfoFailure): void;
  /**
   * Makes renewalInfo requests get no answer at all: the connection is closed (a network failure,
   * as from a VPC without a route to the CA). Recorded with status 0. `times` of them, or all; 0 stops.
   */
  dropRenewalInfo(times: number | 'always'): void;
  /** Refuse newOrders that carry `replaces` with alreadyReplaced (409): `times` of them, or all; 0 stops. */
  rejectReplaces(times: number | 'always'): void;
  setProfiles(profiles: Record<string, string> | null): void;
  /** Clears windows, failures, rejections and records (not the options given at start). */
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_PROFILES: Readonly<Record<string, string>> = {
  classic: 'The same profile you are accustomed to (90 days)',
  tlsserver: 'Certificates for TLS servers only: 45 days, no common name',
  shortlived: 'Very short-lived certificates: 160 hours',
};

export const ACME_ERROR = {
  alreadyReplaced: 'urn:ietf:params:acme:error:alreadyReplaced',
  invalidProfile: 'urn:ietf:params:acme:error:invalidProfile',
  malformed: 'urn:ietf:params:acme:error:malformed',
  serverInternal: 'urn:ietf:params:acme:error:serverInternal',
} as const;

const DAY_MS = 86_400_000;
const CERT_ID = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function decodeB64urlJson(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Upstream {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export async function startAriServer(pebble: PebbleEnv, opts: AriServerOptions = {}): Promise<AriServer> {
  const ca = await createCa({ commonName: 'ARI test server CA', keyKind: 'ecdsa' });
  const leaf = await issueCert({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], keyKind: 'ecdsa' });
  const upstreamOrigin = new URL(pebble.directoryUrl).origin;
  const directoryPath = new URL(pebble.directoryUrl).pathname;
  const agent = new Agent({ keepAlive: true, ca: pebble.tlsCaPem });

  const retryAfterDefault = opts.retryAfterSeconds ?? 21_600;
  const rejectUnknownProfile = opts.rejectUnknownProfile ?? true;
  const advertise = opts.advertiseRenewalInfo ?? true;
  const initialProfiles = opts.profiles === undefined ? { ...DEFAULT_PROFILES } : opts.profiles;
  const initialDefault = opts.defaultWindow;
  let profiles = initialProfiles;
  let defaultWindow = initialDefault;
  const windows = new Map<string, RenewalWindow>();
  const failures: RenewalInfoFailure[] = [];
  let replacesRejections: number | 'always' = 0;
  let drops: number | 'always' = 0;
  /** Order and finalize paths -> fields Pebble does not echo. */
  const orderExtras = new Map<string, Record<string, string>>();
  const renewalInfoRequests: RenewalInfoRequest[] = [];
  const newOrders: NewOrderRecord[] = [];
  const hits: AriServer['hits'] = [];

  const forward = (
    req: IncomingMessage,
    path: string,
    body: Buffer,
    method = req.method,
    headers: IncomingHttpHeaders = req.headers,
  ): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const options: RequestOptions = {
        method,
        // Host passes through: Pebble then builds every URL (and checks every JWS `url`) with our origin.
        headers,
        agent,
        // Pebble's certificate names localhost; without this Node takes the SNI name from the Host header.
        servername: 'localhost',
      };
      const up = httpsRequest(`${upstreamOrigin}${path}`, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined && k !== 'content-length' && k !== 'transfer-encoding') headers[k] = v;
          }
          resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });

  /** A fresh nonce from Pebble, so a client can go on after a refusal it never sent to Pebble. */
  const freshNonce = async (req: IncomingMessage, newNoncePath: string): Promise<string | undefined> => {
    const res = await forward(req, newNoncePath, Buffer.alloc(0), 'HEAD', { host: req.headers.host }).catch(
      () => undefined,
    );
    const nonce = res?.headers['replay-nonce'];
    return typeof nonce === 'string' ? nonce : undefined;
  };

  const send = (
    res: ServerResponse,
    req: IncomingMessage,
    status: number,
    headers: Record<string, string | string[]>,
    body: string | Buffer,
  ): void => {
    hits.push({ method: req.method ?? '', path: req.url ?? '', status });
    res.writeHead(status, headers);
    res.end(body);
  };

  const problem = (
    res: ServerResponse,
    req: IncomingMessage,
    status: number,
    type: string,
    detail: string,
    headers: Record<string, string> = {},
  ): void =>
    send(
      res,
      req,
      status,
      { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...headers },
      JSON.stringify({ type, detail, status }),
    );

  let newOrderPath = '/order-plz';
  let newNoncePath = '/nonce-plz';

  const handleRenewalInfo = (req: IncomingMessage, res: ServerResponse, certId: string): void => {
    const record = (status: number): void => {
      renewalInfoRequests.push({ certId, method: req.method ?? '', status });
    };
    if (drops !== 0) {
      if (typeof drops === 'number') drops--;
      record(0);
      hits.push({ method: req.method ?? '', path: req.url ?? '', status: 0 });
      req.socket.destroy();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      record(405);
      problem(res, req, 405, ACME_ERROR.malformed, 'renewalInfo is GET only', { Allow: 'GET' });
      return;
    }
    if (!CERT_ID.test(certId)) {
      record(400);
      problem(res, req, 400, ACME_ERROR.malformed, `malformed certID "${certId}"`);
      return;
    }
    const failure = failures.find(
      (f) => (f.certId === undefined || f.certId === certId) && (f.times ?? 'always') !== 0,
    );
    if (failure) {
      if (typeof failure.times === 'number') failure.times--;
      record(failure.status);
      const type =
        failure.problemType ?? (failure.status >= 500 ? ACME_ERROR.serverInternal : ACME_ERROR.malformed);
      problem(
        res,
        req,
        failure.status,
        type,
        failure.detail ?? `renewalInfo failure injected by the test (${failure.status})`,
        failure.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(failure.retryAfterSeconds) },
      );
      return;
    }
    const now = Date.now();
    const window =
      windows.get(certId) ??
      (defaultWindow === undefined
        ? { start: new Date(now + 30 * DAY_MS), end: new Date(now + 32 * DAY_MS) }
        : defaultWindow);
    if (window === null) {
      record(404);
      problem(res, req, 404, ACME_ERROR.malformed, `no certificate with certID ${certId}`);
      return;
    }
    const iso = (d: Date | string): string => (typeof d === 'string' ? d : d.toISOString());
    const body = {
      suggestedWindow: { start: iso(window.start), end: iso(window.end) },
      ...(window.explanationURL ? { explanationURL: window.explanationURL } : {}),
    };
    record(200);
    send(
      res,
      req,
      200,
      {
        'Content-Type': 'application/json',
        'Retry-After': String(window.retryAfterSeconds ?? retryAfterDefault),
      },
      JSON.stringify(body),
    );
  };

  const handleDirectory = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const up = await forward(req, req.url ?? directoryPath, body);
    let out: Buffer | string = up.body;
    if (up.status === 200) {
      const dir = JSON.parse(up.body.toString('utf8')) as Record<string, unknown> & {
        meta?: Record<string, unknown>;
      };
      const origin = `https://${req.headers.host ?? ''}`;
      if (advertise) dir.renewalInfo = `${origin}/renewal-info`;
      if (profiles) dir.meta = { ...dir.meta, profiles };
      out = JSON.stringify(dir, null, 2);
    }
    send(res, req, up.status, up.headers, out);
  };

  const handleNewOrder = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    let jws: Record<string, unknown> = {};
    try {
      jws = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      // Not JSON: let Pebble answer it.
    }
    const payload = (decodeB64urlJson(jws.payload) ?? {}) as NewOrderPayload;
    const record: NewOrderRecord = {
      payload,
      protectedHeader: decodeB64urlJson(jws.protected) ?? {},
      status: 0,
    };
    newOrders.push(record);

    const refuse = async (status: number, type: string, detail: string): Promise<void> => {
      record.status = status;
      record.problemType = type;
      const nonce = await freshNonce(req, newNoncePath);
      problem(res, req, status, type, detail, nonce ? { 'Replay-Nonce': nonce } : {});
    };
    if (typeof payload.replaces === 'string' && replacesRejections !== 0) {
      if (typeof replacesRejections === 'number') replacesRejections--;
      await refuse(
        409,
        ACME_ERROR.alreadyReplaced,
        `certificate ${payload.replaces} already has a replacement order`,
      );
      return;
    }
    if (
      rejectUnknownProfile &&
      payload.profile !== undefined &&
      (typeof payload.profile !== 'string' || !profiles || !(payload.profile in profiles))
    ) {
      await refuse(400, ACME_ERROR.invalidProfile, `profile "${String(payload.profile)}" is not offered`);
      return;
    }

    const up = await forward(req, req.url ?? newOrderPath, body);
    record.status = up.status;
    let out: Buffer | string = up.body;
    if (up.status === 201) {
      const location = up.headers.location;
      if (typeof location === 'string') record.orderUrl = location;
      const extras: Record<string, string> = {};
      if (typeof payload.replaces === 'string') extras.replaces = payload.replaces;
      if (typeof payload.profile === 'string') extras.profile = payload.profile;
      if (Object.keys(extras).length > 0) {
        const order = JSON.parse(up.body.toString('utf8')) as Record<string, unknown>;
        if (typeof location === 'string') orderExtras.set(new URL(location).pathname, extras);
        if (typeof order.finalize === 'string') orderExtras.set(new URL(order.finalize).pathname, extras);
        out = JSON.stringify({ ...order, ...extras });
      }
    } else {
      try {
        const type = (JSON.parse(up.body.toString('utf8')) as { type?: unknown }).type;
        if (typeof type === 'string') record.problemType = type;
      } catch {
        // not a problem document
      }
    }
    send(res, req, up.status, up.headers, out);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '/';
    const body = await readBody(req);
    const pathname = path.split('?')[0] ?? path;
    if (pathname.startsWith('/renewal-info/')) {
      handleRenewalInfo(req, res, decodeURIComponent(pathname.slice('/renewal-info/'.length)));
      return;
    }
    if (pathname === directoryPath && req.method === 'GET') return handleDirectory(req, res, body);
    if (pathname === newOrderPath && req.method === 'POST') return handleNewOrder(req, res, body);
    const up = await forward(req, path, body);
    let out: Buffer | string = up.body;
    const extras = orderExtras.get(pathname);
    if (extras && up.status < 300 && up.body.length > 0) {
      out = JSON.stringify({ ...(JSON.parse(up.body.toString('utf8')) as object), ...extras });
    }
    send(res, req, up.status, up.headers, out);
  };

  const server: Server = createServer({ cert: leaf.chainPem, key: leaf.keyPem }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      problem(res, req, 502, ACME_ERROR.serverInternal, `ARI proxy: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Learn Pebble's resource paths (they are the same whatever the Host).
  try {
    const dirRes = await fetchJson(pebble.directoryUrl, pebble.tlsCaPem);
    if (typeof dirRes.newOrder === 'string') newOrderPath = new URL(dirRes.newOrder).pathname;
    if (typeof dirRes.newNonce === 'string') newNoncePath = new URL(dirRes.newNonce).pathname;
  } catch (err) {
    server.close();
    agent.destroy();
    throw err;
  }

  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'ari-server-')));
  const caFile = join(dir, 'ari-server-ca.pem');
  await writeFile(caFile, `${ca.certPem}${pebble.issuingRootPem}${pebble.issuingIntermediatePem}`);

  let closed: Promise<void> | undefined;
  return {
    directoryUrl: `${origin}${directoryPath}`,
    origin,
    renewalInfoUrl: `${origin}/renewal-info`,
    tlsCaPem: ca.certPem,
    caFile,
    renewalInfoRequests,
    newOrders,
    hits,
    setWindow: (certId, window) => windows.set(certId, window),
    setDefaultWindow: (window) => {
      defaultWindow = window;
    },
    failRenewalInfo: (failure) => failures.push({ ...failure }),
    dropRenewalInfo: (times) => {
      drops = times;
    },
    rejectReplaces: (times) => {
      replacesRejections = times;
    },
    setProfiles: (p) => {
      profiles = p;
    },
    reset: () => {
      windows.clear();
      failures.length = 0;
      replacesRejections = 0;
      drops = 0;
      profiles = initialProfiles;
      defaultWindow = initialDefault;
      renewalInfoRequests.length = 0;
      newOrders.length = 0;
      hits.length = 0;
    },
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
        agent.destroy();
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

function fetchJson(url: string, ca: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
