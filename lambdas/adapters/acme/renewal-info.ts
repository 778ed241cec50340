/**
 * RenewalInfoSource over plain node:https: the directory (for `renewalInfo` and `meta.profiles`) and
 * the unauthenticated `GET <renewalInfo>/<certID>` of RFC 9773. No acme-client here: the check
 * function loads this, and acme-client (with axios) is ~960 KB it does not need. One attempt per
 * request, short timeouts: a failure only means the lifetime policy decides this run.
 *
 * Import this file directly (not through ./index.ts, which loads acme-client).
 */
import { Agent } from 'node:https';
import { parseRenewalInfo, type RenewalInfoAnswer } from '../../domain/ari';
import { RenewalInfoError } from '../../domain/errors';
import type { RenewalInfoSource } from '../../domain/ports';
import { exchange } from '../plain-http';
import { trustContext } from '../tls/trust';

/** Marks a 404: the CA does not know the certID (RFC 9773 §4.1), so it did not issue that certificate. */
export const NOT_ISSUED_HERE = '(not issued by this CA)';

export interface HttpsRenewalInfoOptions {
  directoryUrl: string;
  /** acme.caFile's contents: trusted in addition to the public roots. */
  trustPem?: string | undefined;
  timeoutMs?: number;
  now?: () => Date;
}

interface Directory {
  renewalInfo?: unknown;
  meta?: { profiles?: unknown };
}

interface HttpAnswer {
  status: number;
  retryAfter: string | null;
  body: string;
}

export class HttpsRenewalInfoSource implements RenewalInfoSource {
  private directory: Promise<Directory> | undefined;
  private readonly agent: Agent;

  constructor(private readonly options: HttpsRenewalInfoOptions) {
    this.agent = new Agent({
      keepAlive: true,
      secureContext: trustContext(options.trustPem ? [options.trustPem] : []),
    });
  }

  async renewalInfo(certId: string): Promise<RenewalInfoAnswer | null> {
    const base = (await this.readDirectory()).renewalInfo;
    if (typeof base !== 'string') return null;
    const url = `${base.replace(/\/$/, '')}/${certId}`;
    const answer = await this.get(url);
    if (answer.status !== 200) {
      throw new RenewalInfoError(
        `renewalInfo for ${certId} answered ${answer.status}${problemDetail(answer.body)}${answer.status === 404 ? ` ${NOT_ISSUED_HERE}` : ''}`,
        {
          hint:
            answer.status === 404
              ? 'the CA does not know this certificate (another CA or account issued it)'
              : 'the CA may be having trouble; the lifetime policy decides until it answers',
        },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      throw new RenewalInfoError(`renewalInfo for ${certId} is not JSON`);
    }
    return parseRenewalInfo(body, answer.retryAfter, (this.options.now ?? (() => new Date()))());
  }

  async profiles(): Promise<Record<string, string> | null> {
    const profiles = (await this.readDirectory()).meta?.profiles;
    if (!profiles || typeof profiles !== 'object') return null;
    return Object.fromEntries(Object.entries(profiles).map(([name, text]) => [name, String(text)]));
  }

  close(): void {
    this.agent.destroy();
  }

  private readDirectory(): Promise<Directory> {
    // A directory that fails in any way leaves no ARI to ask: `unreachable`, like a network error.
    this.directory ??= this.get(this.options.directoryUrl, 'the ACME directory ').then((answer) => {
      if (answer.status !== 200)
        throw new RenewalInfoError(
          `the ACME directory ${this.options.directoryUrl} answered ${answer.status}${problemDetail(answer.body)}`,
          { unreachable: true },
        );
      try {
        return JSON.parse(answer.body) as Directory;
      } catch {
        throw new RenewalInfoError(`the ACME directory ${this.options.directoryUrl} is not JSON`, {
          unreachable: true,
        });
      }
    });
    // A failed read is not cached: the next certificate (or run) tries again.
    this.directory.catch(() => {
      this.directory = undefined;
    });
    return this.directory;
  }

  private async get(url: string, what = ''): Promise<HttpAnswer> {
    try {
      // A window is a few hundred bytes; a directory a few KB.
      const answer = await exchange(url, {
        agent: this.agent,
        timeoutMs: this.options.timeoutMs ?? 10_000,
        maxBytes: 256 * 1024,
        readHeaders: ['retry-after'],
      });
      return {
        status: answer.status,
        retryAfter: answer.headers?.['retry-after'] ?? null,
        body: answer.body,
      };
    } catch (error) {
      // No answer at all (refused, reset, timed out): the CA is out of reach (e.g. a VPC without NAT).
      // An answer too large is an answer: not `unreachable`.
      const unreachable = (error as Error).name !== 'TooLargeError';
      throw new RenewalInfoError(`GET ${what}${url} failed: ${(error as Error).message}`, {
        cause: error,
        unreachable,
        ...(unreachable
          ? {
              hint: 'give the check function a route to the CA (NAT or an egress proxy), or set acme.ari to false',
            }
          : {}),
      });
    }
  }
}

function problemDetail(body: string): string {
  try {
    const problem = JSON.parse(body) as { type?: unknown; detail?: unknown };
    const type =
      typeof problem.type === 'string' ? problem.type.replace('urn:ietf:params:acme:error:', '') : '';
    const detail = typeof problem.detail === 'string' ? problem.detail : '';
    return type || detail ? ` (${[type, detail].filter(Boolean).join(': ')})` : '';
  } catch {
    return '';
  }
}
