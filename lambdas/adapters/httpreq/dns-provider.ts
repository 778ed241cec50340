/**
 * lego's `httpreq` DNS provider convention: POST {endpoint}/present and {endpoint}/cleanup with
 * {"fqdn": "_acme-challenge.example.com.", "value": "..."}, optional basic auth.
 */
import { DnsProviderError } from '../../domain/errors';
import type { DnsProvider } from '../../domain/ports';
import { redactUrl } from '../../domain/redact';
import { exchange, type PlainResponse } from '../plain-http';

export interface HttpReqOptions {
  endpoint: string;
  username?: string | undefined;
  /** The password, or where to read it (Secrets Manager), once, when first needed. */
  password?: string | (() => Promise<string>) | undefined;
  timeoutMs?: number;
}

export class HttpReqDnsProvider implements DnsProvider {
  private password: Promise<string> | undefined;

  constructor(private readonly options: HttpReqOptions) {}

  present(fqdn: string, value: string): Promise<void> {
    return this.call('present', fqdn, value);
  }

  cleanup(fqdn: string, value: string): Promise<void> {
    return this.call('cleanup', fqdn, value);
  }

  private async call(op: 'present' | 'cleanup', fqdn: string, value: string): Promise<void> {
    const url = `${this.options.endpoint.replace(/\/$/, '')}/${op}`;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.options.username !== undefined) {
      const password = this.options.password;
      this.password ??= typeof password === 'function' ? password() : Promise.resolve(password ?? '');
      this.password.catch(() => {
        this.password = undefined;
      });
      headers.Authorization = `Basic ${Buffer.from(`${this.options.username}:${await this.password}`).toString('base64')}`;
    }
    let response: PlainResponse;
    try {
      response = await exchange(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ fqdn, value }),
        timeoutMs: this.options.timeoutMs ?? 15_000,
      });
    } catch (error) {
      throw new DnsProviderError(`httpreq ${op} of ${fqdn} failed: ${(error as Error).message}`, {
        cause: error,
        hint: `check that ${redactUrl(this.options.endpoint)} is reachable`,
      });
    }
    if (response.status < 200 || response.status > 299) {
      throw new DnsProviderError(`httpreq ${op} of ${fqdn} answered ${response.status}`, {
        hint: 'check the httpreq endpoint and its credentials',
      });
    }
  }
}
