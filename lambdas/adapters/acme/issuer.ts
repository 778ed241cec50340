/**
 * Issues one certificate through ACME with DNS-01, using acme-client's explicit order flow (its
 * `auto()` checks DNS with the system's resolvers, which a private or test DNS does not satisfy).
 * Keys are made with node:crypto: RSA-2048 (the format RS documents) or ECDSA P-256.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import acme from 'acme-client';
import type { AcmeConfig, KeyType } from '../../domain/config/types';
import {
  AcmeAccountError,
  AcmeBadNonceError,
  AcmeError,
  AcmeProfileError,
  AcmeValidationError,
  ConfigError,
  WatchdogError,
} from '../../domain/errors';
import type { CertificateIssuer, DnsProvider, DnsRecord, IssuedPair, IssueOptions } from '../../domain/ports';
import { unknownProfile } from '../../domain/renewal/renewal-info';
import { ACME_ORDER } from '../../domain/retry';
import type { StateStore } from '../../domain/state';
import { keyFor } from '../keys';
import { createCsrPem } from '../keys/csr';
import { type AcmeOrderContext, installAcmeHttpGuard, withAcmeContext } from './http-guard';

const generate = promisify(generateKeyPair);

export interface AcmeIssuerOptions {
  acme: AcmeConfig;
  /** Trust for the ACME server's TLS (acme.caFile's contents). */
  trustPem?: string | undefined;
  /**
   * Publishes the DNS-01 records: one provider for every order, or the provider(s) for the order's
   * cluster and certificate (IssueOptions.scope), e.g. domain/dns01's Dns01Challenges.
   */
  dns: DnsProvider | ((scope: IssueOptions['scope']) => DnsProvider);
  state: StateStore;
  /** Whole-order attempts when the CA keeps rejecting nonces beyond acme-client's own 5 retries. */
  orderAttempts?: number;
  /** Where `acme.eab.hmacKeyEnv` is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Reads `acme.eab.hmacKeySecret` (Secrets Manager); without it a secret-held key is a ConfigError. */
  readSecret?: (secretId: string) => Promise<string>;
  /** Told when an order is placed again without `replaces` (once per order). */
  log?: (message: string) => void;
}

/**
 * The External Account Binding HMAC key, read like a cluster password: from the environment
 * (`hmacKeyEnv`, local), from Secrets Manager (`hmacKeySecret`, AWS) or, discouraged, from the
 * config itself (`hmacKey`, local only: the CDK app must refuse to bundle it). Never in a message.
 */
export async function eabHmacKey(
  eab: NonNullable<AcmeConfig['eab']>,
  options: Pick<AcmeIssuerOptions, 'env' | 'readSecret'>,
): Promise<string> {
  if (eab.hmacKey !== undefined) return eab.hmacKey;
  if (eab.hmacKeyEnv !== undefined) {
    const value = (options.env ?? process.env)[eab.hmacKeyEnv];
    if (!value)
      throw new ConfigError(`acme.eab.hmacKeyEnv: environment variable ${eab.hmacKeyEnv} is not set`);
    return value;
  }
  if (eab.hmacKeySecret !== undefined) {
    if (!options.readSecret)
      throw new ConfigError('acme.eab.hmacKeySecret needs Secrets Manager; locally use hmacKeyEnv');
    const value = (await options.readSecret(eab.hmacKeySecret)).trim();
    if (!value) throw new ConfigError(`acme.eab.hmacKeySecret: secret ${eab.hmacKeySecret} is empty`);
    return value;
  }
  throw new ConfigError('acme.eab: set one of hmacKeyEnv, hmacKeySecret or hmacKey');
}

/** acme-client 5.4's createOrder passes the payload through: `profile` and `replaces` need no fork. */
type NewOrder = Parameters<acme.Client['createOrder']>[0] & { profile?: string; replaces?: string };

export class AcmeIssuer implements CertificateIssuer {
  constructor(private readonly options: AcmeIssuerOptions) {
    installAcmeHttpGuard(options.trustPem);
  }

  async issue(domains: string[], keyType: KeyType, options: IssueOptions = {}): Promise<IssuedPair> {
    // The key is needed only at finalize: generating it (RSA-2048: 50-500 ms) while the account,
    // order and DNS-01 challenges proceed takes it off the critical path (bench/issuance.bench.ts).
    const keyAndCsr = this.keyAndCsr(domains, keyType, options);
    keyAndCsr.catch(() => undefined); // awaited below; an early order failure must not leave it unhandled

    const attempts = this.options.orderAttempts ?? ACME_ORDER.attempts;
    const dns = typeof this.options.dns === 'function' ? this.options.dns(options.scope) : this.options.dns;
    for (let attempt = 1; ; attempt++) {
      try {
        const certificatePem = await withAcmeContext((ctx) =>
          this.order(
            ctx,
            dns,
            domains,
            keyAndCsr.then((k) => k.csr),
            options,
          ).catch((error: unknown) => {
            if (error instanceof WatchdogError) throw error;
            if (ctx.lastProblem?.type.endsWith(':invalidProfile') && options.profile) {
              throw new AcmeProfileError(
                `the ACME CA refused the profile "${options.profile}": ${(error as Error).message}`,
                { hint: 'fix acme.profile or the certificate\'s "profile"' },
              );
            }
            if (ctx.lastProblem?.type.endsWith(':badNonce')) {
              throw new AcmeBadNonceError(`the ACME CA kept rejecting nonces (${ctx.badNonces} times)`, {
                hint: 'the CA is unhealthy; the next run tries again',
              });
            }
            throw new AcmeError(`ACME order for ${domains.join(', ')} failed: ${(error as Error).message}`, {
              hint: 'see the CA status page; the next run tries again',
            });
          }),
        );
        return { certificatePem, keyPem: (await keyAndCsr).keyPem };
      } catch (error) {
        if (!(error instanceof AcmeBadNonceError) || attempt >= attempts) throw error;
      }
    }
  }

  private async keyAndCsr(
    domains: string[],
    keyType: KeyType,
    options: IssueOptions,
  ): Promise<{ keyPem: string; csr: string }> {
    const { privateKey, publicKey, keyPem } = await keyFor(keyType, options);
    // node:crypto and a small DER writer, not acme-client's crypto.createCsr (an ASN.1 framework).
    return { keyPem, csr: createCsrPem({ domains, privateKey, publicKey }) };
  }

  private async client(ctx: AcmeOrderContext): Promise<acme.Client> {
    const { acme: config, state } = this.options;
    let account = await state.account(config.directoryUrl);
    if (!account) {
      const key = await generate('ec', { namedCurve: 'P-256' });
      account = {
        directoryUrl: config.directoryUrl,
        accountKeyPem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        accountUrl: null,
        email: config.email,
        createdAt: new Date().toISOString(),
      };
      // Saved before registering: a key the CA knows about is never lost. Another run that got there
      // first wins, and its key is used (registering the same key again returns the same account).
      if (!(await state.createAccount(account)))
        account = (await state.account(config.directoryUrl)) ?? account;
    }
    const client = new acme.Client({
      directoryUrl: config.directoryUrl,
      accountKey: account.accountKeyPem,
      ...(account.accountUrl ? { accountUrl: account.accountUrl } : {}),
      // The binding matters only when registering: the key is read then, and not on every order.
      ...(config.eab && !account.accountUrl
        ? {
            externalAccountBinding: {
              kid: config.eab.kid,
              hmacKey: await eabHmacKey(config.eab, this.options),
            },
          }
        : {}),
      backoffAttempts: ACME_ORDER.clientBackoff.attempts,
      backoffMin: ACME_ORDER.clientBackoff.minMs,
      backoffMax: ACME_ORDER.clientBackoff.maxMs,
    });
    if (!account.accountUrl) {
      try {
        await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${config.email}`] });
      } catch (error) {
        // A nonce storm or a server error is not the account's fault: let the order's mapping name it.
        if (error instanceof WatchdogError || ctx.lastProblem?.type.endsWith(':badNonce')) throw error;
        throw new AcmeAccountError(
          `the ACME CA refused to register the account: ${(error as Error).message}`,
          {
            hint: config.eab
              ? 'check acme.eab (kid and the HMAC key it reads)'
              : 'the CA may require External Account Binding (acme.eab)',
          },
        );
      }
      await state.saveAccount({ ...account, accountUrl: client.getAccountUrl() });
    }
    return client;
  }

  private async order(
    ctx: AcmeOrderContext,
    dns: DnsProvider,
    domains: string[],
    csr: Promise<string>,
    options: IssueOptions,
  ): Promise<string> {
    // An unknown profile is refused before anything is sent: no account, no order.
    if (options.profile) await this.checkProfile(options.profile);
    const client = await this.client(ctx);
    const order = await this.createOrder(ctx, client, domains, options);
    const authorizations = await client.getAuthorizations(order);
    // Every record we ASKED to publish, before knowing whether it worked: a change that was applied
    // but whose propagation wait failed (or timed out) is still removed at the end.
    const attempted: DnsRecord[] = [];
    try {
      const pending: Array<{ challenge: acme.Authorization['challenges'][number]; fqdn: string }> = [];
      const records: DnsRecord[] = [];
      for (const authz of authorizations) {
        if (authz.status === 'valid') continue; // reused authorization: nothing to prove
        const challenge = authz.challenges.find((c) => c.type === 'dns-01');
        if (!challenge) {
          throw new AcmeError(`the ACME CA offers no dns-01 challenge for ${authz.identifier.value}`);
        }
        const fqdn = `_acme-challenge.${authz.identifier.value}.`;
        records.push({ fqdn, value: await client.getChallengeKeyAuthorization(challenge) });
        pending.push({ challenge, fqdn });
      }
      // Publish every record first, with one propagation wait for all of them, then validate.
      attempted.push(...records);
      await publishAll(dns, records);
      for (const { challenge, fqdn } of pending) {
        try {
          await client.completeChallenge(challenge);
          await client.waitForValidStatus(challenge);
        } catch (error) {
          if (error instanceof WatchdogError) throw error;
          throw new AcmeValidationError(
            fqdn,
            `DNS-01 validation of TXT ${fqdn} failed: ${(error as Error).message}`,
            {
              hint: `check that ${fqdn} (or the end of its CNAME chain) is published where the CA looks`,
            },
          );
        }
      }
      const finalized = await client.finalizeOrder(order, await csr);
      const valid = await client.waitForValidStatus(finalized);
      // The download is the one answer allowed a chain's size (http-guard caps every response).
      ctx.certificateUrl = valid.certificate;
      return await client.getCertificate(valid);
    } finally {
      // Clean up even on failure; a failing cleanup must not hide the real error.
      await removeAll(dns, attempted, this.options.log);
    }
  }
  /** The profiles the CA lists in its directory's meta.profiles (fetched through the guarded axios). */
  private async checkProfile(profile: string): Promise<void> {
    const directory = (await acme.axios.get(this.options.acme.directoryUrl)).data as {
      meta?: { profiles?: Record<string, string> };
    };
    const offered = directory.meta?.profiles ?? null;
    if (!offered || !Object.hasOwn(offered, profile)) throw unknownProfile(profile, offered);
  }

  /**
   * newOrder with `profile` and, for an ARI renewal, `replaces` (RFC 9773 §5): Let's Encrypt exempts
   * such renewals from its rate limits. When the CA refuses `replaces` (alreadyReplaced: another
   * order already replaced that certificate; or any problem that names `replaces`), the order is
   * placed once more without it: ARI never blocks a renewal.
   */
  private async createOrder(
    ctx: AcmeOrderContext,
    client: acme.Client,
    domains: string[],
    options: IssueOptions,
  ): Promise<acme.Order> {
    const payload: NewOrder = {
      identifiers: domains.map((value) => ({ type: 'dns', value })),
      ...(options.profile ? { profile: options.profile } : {}),
    };
    if (!options.replaces) return client.createOrder(payload);
    try {
      const withReplaces: NewOrder = { ...payload, replaces: options.replaces };
      return await client.createOrder(withReplaces);
    } catch (error) {
      if (error instanceof WatchdogError) throw error;
      const problem = ctx.lastProblem;
      const aboutReplaces =
        problem?.type.endsWith(':alreadyReplaced') === true ||
        /replace/i.test(problem?.detail ?? '') ||
        /replace/i.test((error as Error).message);
      if (!aboutReplaces) throw error;
      this.options.log?.(
        `ACME: the CA refused "replaces": ${options.replaces} (${problem?.type.replace('urn:ietf:params:acme:error:', '') ?? 'error'}: ${(error as Error).message}); ordering again without it`,
      );
      ctx.lastProblem = null;
      return client.createOrder(payload);
    }
  }
}

/**
 * Publishes the records of one order together. A provider with `presentAll` does it in one change
 * and one propagation wait; otherwise records are presented in parallel (each provider call waits
 * for its own propagation, so the waits overlap), except records sharing a name (a wildcard and its
 * apex), which are presented one after the other so that a read-merge-write provider keeps both.
 * Every call is allowed to finish before the first failure is thrown.
 */
async function publishAll(dns: DnsProvider, records: readonly DnsRecord[]): Promise<void> {
  if (records.length === 0) return;
  if (dns.presentAll) {
    await dns.presentAll(records);
    return;
  }
  const results = await Promise.allSettled(
    [...byName(records).values()].map(async (group) => {
      for (const { fqdn, value } of group) await dns.present(fqdn, value);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Removes every record, in parallel across names; never throws (the order's own outcome matters
 * more), but says which record could not be removed, and why.
 */
async function removeAll(
  dns: DnsProvider,
  records: readonly DnsRecord[],
  log?: (message: string) => void,
): Promise<void> {
  await Promise.allSettled(
    [...byName(records).values()].map(async (group) => {
      for (const { fqdn, value } of group)
        await dns
          .cleanup(fqdn, value)
          .catch((error: unknown) =>
            log?.(`DNS-01: could not remove the TXT record ${fqdn}: ${(error as Error).message}`),
          );
    }),
  );
}

function byName(records: readonly DnsRecord[]): Map<string, DnsRecord[]> {
  const groups = new Map<string, DnsRecord[]>();
  for (const record of records) {
    const key = record.fqdn.toLowerCase();
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  return groups;
}
