/**
 * Issues one certificate through ACME with DNS-01, using acme-client's explicit order flow (its
 * `auto()` checks DNS with the system's resolvers, which a private or test DNS does not satisfy).
 * Keys are made with node:crypto: RSA-2048 (the format RS documents) or ECDSA P-256.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import acme from 'acme-client';
import type { AcmeConfig, KeyType } from '../../domain/config/types';
import {
  AcmeAccountError,
  AcmeBadNonceError,
  AcmeError,
  AcmeValidationError,
  ConfigError,
  WatchdogError,
} from '../../domain/errors';
import type { CertificateIssuer, DnsProvider, DnsRecord, IssuedPair } from '../../domain/ports';
import { ACME_ORDER } from '../../domain/retry';
import type { StateStore } from '../../domain/state';
import { type AcmeOrderContext, installAcmeHttpGuard, withAcmeContext } from './http-guard';

const generate = promisify(generateKeyPair);

export interface AcmeIssuerOptions {
  acme: AcmeConfig;
  /** Trust for the ACME server's TLS (acme.caFile's contents). */
  trustPem?: string | undefined;
  dns: DnsProvider;
  state: StateStore;
  /** Whole-order attempts when the CA keeps rejecting nonces beyond acme-client's own 5 retries. */
  orderAttempts?: number;
  /** Where `acme.eab.hmacKeyEnv` is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Reads `acme.eab.hmacKeySecret` (Secrets Manager); without it a secret-held key is a ConfigError. */
  readSecret?: (secretId: string) => Promise<string>;
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

export class AcmeIssuer implements CertificateIssuer {
  constructor(private readonly options: AcmeIssuerOptions) {
    installAcmeHttpGuard(options.trustPem);
  }

  async issue(domains: string[], keyType: KeyType): Promise<IssuedPair> {
    // The key is needed only at finalize: generating it (RSA-2048: 50-500 ms) while the account,
    // order and DNS-01 challenges proceed takes it off the critical path (bench/issuance.bench.ts).
    const keyAndCsr = this.keyAndCsr(domains, keyType);
    keyAndCsr.catch(() => undefined); // awaited below; an early order failure must not leave it unhandled

    const attempts = this.options.orderAttempts ?? ACME_ORDER.attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        const certificatePem = await withAcmeContext((ctx) =>
          this.order(
            ctx,
            domains,
            keyAndCsr.then((k) => k.csr),
          ).catch((error: unknown) => {
            if (error instanceof WatchdogError) throw error;
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

  private async keyAndCsr(domains: string[], keyType: KeyType): Promise<{ keyPem: string; csr: Buffer }> {
    const key = await newCertificateKey(keyType);
    // acme-client's CSR (WebCrypto) imports PKCS#8; RS documents PKCS#1 for RSA keys.
    const csrKeyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyPem =
      keyType === 'rsa-2048' ? key.export({ type: 'pkcs1', format: 'pem' }).toString() : csrKeyPem;
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: domains }, csrKeyPem);
    return { keyPem, csr };
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

  private async order(ctx: AcmeOrderContext, domains: string[], csr: Promise<Buffer>): Promise<string> {
    const client = await this.client(ctx);
    const order = await client.createOrder({ identifiers: domains.map((value) => ({ type: 'dns', value })) });
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
      await publishAll(this.options.dns, records);
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
              hint: `check that ${fqdn} is published where the CA looks (the hosted zone or httpreq endpoint)`,
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
      await removeAll(this.options.dns, attempted);
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

/** Removes every record, in parallel across names; never throws. */
async function removeAll(dns: DnsProvider, records: readonly DnsRecord[]): Promise<void> {
  await Promise.allSettled(
    [...byName(records).values()].map(async (group) => {
      for (const { fqdn, value } of group) await dns.cleanup(fqdn, value).catch(() => undefined);
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

async function newCertificateKey(keyType: KeyType): Promise<KeyObject> {
  const pair =
    keyType === 'ecdsa-p256'
      ? await generate('ec', { namedCurve: 'P-256' })
      : await generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return pair.privateKey;
}
