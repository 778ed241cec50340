/**
 * What the check adds to each managed certificate beyond its dates: who issues it, the ACME profile
 * it asks for, the CA's ARI window (RFC 9773) when the CA offers one, and advice about clientAuth.
 * Called by checkCluster for every cluster, so `check`, `renew` and the Check task agree.
 *
 * ARI never blocks a renewal: any failure to read a window leaves the lifetime policy in charge and
 * is logged once, with the reason in the report (`renewalInfoError`).
 */

import { certIdOf, type RenewalWindow, storedWindowFresh, windowFromAnswer } from '../ari';
import { parseCertificateChain } from '../certificate';
import { managedSettings } from '../certificate-kinds';
import type { ClusterConfig, ManagedCertificateConfig, WatchdogConfig } from '../config/types';
import { AcmeProfileError, RenewalInfoError, toErrorInfo } from '../errors';
import { decideRenewal, lifetimeBackstop } from '../policy';
import type { RecordStore, RenewalInfoSource } from '../ports';
import type { CertificateReport, ClusterReport } from '../report';
import type { ClusterCertificateSet } from '../rs/client';

/** Where ARI windows are kept between runs (they carry no secret). */
export interface RenewalWindowStore {
  read(cluster: string, certificate: string): Promise<RenewalWindow | null>;
  write(cluster: string, certificate: string, window: RenewalWindow): Promise<void>;
}

export interface RenewalInfoDependencies {
  source: RenewalInfoSource;
  windows: RenewalWindowStore;
  /** Told once per distinct message (see logOnce). */
  log: (message: string) => void;
  random?: () => number;
}

/** RS certificates whose holder also acts as a TLS client and so needs clientAuth. */
export function needsClientAuth(name: string): boolean {
  return name === 'syncer' || name === 'ldap_client' || name.includes('internode');
}

export function issuerTypeOf(settings: ManagedCertificateConfig): 'acme' | 'aws-private-ca' | 'local-ca' {
  return settings.issuer === 'acme' || settings.issuer === undefined ? 'acme' : settings.issuer.type;
}

/** The warning `check` and `renew --dry-run` print for a clientAuth certificate left on ACME. */
export function clientAuthWarning(cluster: string, name: string): string {
  return (
    `${cluster}/${name} needs the clientAuth usage (RS connects with it as a TLS client), which public ACME CAs no longer issue ` +
    `(Let's Encrypt dropped it on 2026-02-11): its renewal would be refused. Fix: set "issuer" of ${name} under cluster "${cluster}" ` +
    `to {"type":"aws-private-ca","certificateAuthorityArn":…,"validityDays":N} or {"type":"local-ca","certFile":…,"keyFile":…,"validityDays":N}`
  );
}

/** A logger that says each message once (an ARI outage must not print a line per certificate per run). */
export function logOnce(log: (message: string) => void): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    said.add(message);
    log(message);
  };
}

/** Starts the message of every certificate's `renewalInfoError` once a run has stopped asking the CA. */
export const ARI_SKIPPED = 'ARI skipped for the rest of this run';

/**
 * The ARI of one run, with a circuit breaker: a check that cannot reach the CA (a VPC without NAT,
 * a firewall, the CA down) pays one timeout per run, not one per certificate.
 *
 * - Until a request has reached the CA, requests go one at a time: the first tells whether the CA
 *   answers before any other waits on the network.
 * - After a failure that is `unreachable` (no answer at all, a timeout, or a directory that fails),
 *   every later request of this run fails at once with a RenewalInfoError that starts with
 *   ARI_SKIPPED, the reason is logged once, and the lifetime policy decides for the rest.
 * - Any answer proves the CA reachable: a 404 for a certificate another CA issued, a 5xx or a
 *   malformed window is that certificate's problem, and the others are still asked, side by side.
 *
 * Make one per run (checkFleet does), so that the next run tries the CA again.
 */
export function circuitBreaker(source: RenewalInfoSource, log: (message: string) => void): RenewalInfoSource {
  let open: RenewalInfoError | undefined;
  let reached = false;
  // The tail of the one-at-a-time queue, while no request has reached the CA.
  let queue: Promise<unknown> = Promise.resolve();
  const call = async <T>(ask: () => Promise<T>): Promise<T> => {
    const attempt = async (): Promise<T> => {
      if (open) throw open;
      try {
        const answer = await ask();
        reached = true;
        return answer;
      } catch (error) {
        if (error instanceof RenewalInfoError && error.unreachable) {
          if (!open) {
            log(`${ARI_SKIPPED}, the lifetime policy decides instead: ${error.message}`);
            open = new RenewalInfoError(`${ARI_SKIPPED}: the CA could not be reached (${error.message})`, {
              unreachable: true,
              ...(error.hint ? { hint: error.hint } : {}),
            });
          }
        } else reached = true;
        throw error;
      }
    };
    if (reached) return attempt();
    const turn = queue.then(attempt);
    queue = turn.catch(() => undefined);
    return turn;
  };
  return {
    renewalInfo: (certId) => call(() => source.renewalInfo(certId)),
    profiles: () => call(() => source.profiles()),
  };
}

/** The ARI of one run: none with `acme.ari` false, else the configured source behind a fresh circuit breaker. */
export function renewalInfoForRun(
  config: Pick<WatchdogConfig, 'acme'>,
  ari: RenewalInfoDependencies | undefined,
): RenewalInfoDependencies | undefined {
  if (!ari || config.acme?.ari === false) return undefined;
  return { ...ari, source: circuitBreaker(ari.source, ari.log) };
}

/** How long a window is kept after it ends, or after the CA allows asking again (whichever is later). */
const WINDOW_KEPT_MS = 30 * 86_400_000;

/**
 * ARI windows in the records, next to the certificates: `renewal-info/<cluster>` + `<certificate>`.
 * Kept until a month after the window ends (or the CA's Retry-After passes): a window of a
 * certificate the cluster no longer holds is of no use after that.
 */
export function recordWindows(records: RecordStore): RenewalWindowStore {
  const key = (c: string, n: string) => ({
    partition: `renewal-info/${c.replace(/[^A-Za-z0-9._-]/g, '_')}`,
    sort: n.replace(/[^A-Za-z0-9._-]/g, '_'),
  });
  return {
    async read(cluster, certificate) {
      const window = await records.get<RenewalWindow>(key(cluster, certificate));
      // A malformed window is only a lost cache: ask the CA again.
      return window && typeof window.certId === 'string' && typeof window.renewAt === 'string'
        ? window
        : null;
    },
    write: (cluster, certificate, window) =>
      records.put(key(cluster, certificate), window, {
        expiresAt: new Date(
          Math.max(Date.parse(window.end) || 0, Date.parse(window.nextFetchAt) || 0, Date.now()) +
            WINDOW_KEPT_MS,
        ),
      }),
  };
}

/** ARI windows kept in memory (a warm Lambda container): Retry-After honoured while it lives. */
export function memoryWindows(): RenewalWindowStore {
  const windows = new Map<string, RenewalWindow>();
  return {
    read: async (cluster, certificate) => windows.get(`${cluster}/${certificate}`) ?? null,
    write: async (cluster, certificate, window) => {
      windows.set(`${cluster}/${certificate}`, window);
    },
  };
}

/** Adds issuer, profile, warnings and the ARI window to a cluster's managed certificates. */
export async function annotateManaged(
  config: Pick<WatchdogConfig, 'acme' | 'renewBeforeDays'>,
  cluster: ClusterConfig,
  set: ClusterCertificateSet,
  report: ClusterReport,
  now: Date,
  ari: RenewalInfoDependencies | undefined,
): Promise<void> {
  for (const cert of report.certificates) {
    // A cluster certificate, a database (bdb:<uid>) or the client certificate.
    const settings = managedSettings(cluster, cert.name);
    if (!cert.managed || !settings) continue;
    const issuerType = issuerTypeOf(settings);
    cert.issuerType = issuerType;
    if (issuerType !== 'acme') continue;
    cert.profile = settings.profile ?? config.acme?.profile ?? null;
    if (needsClientAuth(cert.name)) cert.warnings = [clientAuthWarning(cluster.name, cert.name)];
    if (!ari) continue;
    if (cert.profile) await checkProfile(cert, cert.profile, ari);
    const pem = set.certificate(cert.name);
    if (cert.status === 'invalid' || !cert.notBefore || !cert.notAfter || !pem) continue;
    await applyWindow(config, cluster.name, cert, pem, now, ari);
  }
}

async function checkProfile(cert: CertificateReport, profile: string, ari: RenewalInfoDependencies) {
  let offered: Record<string, string> | null;
  try {
    offered = await ari.source.profiles();
  } catch {
    return; // the directory is unreadable: the order will say so, with the real reason
  }
  if (offered && !Object.hasOwn(offered, profile) && cert.error === null)
    cert.error = toErrorInfo(unknownProfile(profile, offered));
}

/** The error for a profile the CA does not offer, listing those it does. */
export function unknownProfile(profile: string, offered: Record<string, string> | null): AcmeProfileError {
  const names = offered ? Object.keys(offered) : [];
  return new AcmeProfileError(
    `the ACME CA does not offer the profile "${profile}"; it offers ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'no profiles'}`,
    {
      hint: 'fix acme.profile or the certificate\'s "profile" (or remove it for the CA\'s default); no order was placed',
    },
  );
}

async function applyWindow(
  config: Pick<WatchdogConfig, 'renewBeforeDays'>,
  clusterName: string,
  cert: CertificateReport,
  pem: string,
  now: Date,
  ari: RenewalInfoDependencies,
): Promise<void> {
  let window: RenewalWindow;
  try {
    const leaf = parseCertificateChain(pem)[0]!;
    const certId = certIdOf(leaf.raw);
    const stored = await ari.windows.read(clusterName, cert.name).catch((error: unknown) => {
      ari.log(
        `ARI: the stored window of ${clusterName}/${cert.name} could not be read (${(error as Error).message}); the CA is asked again`,
      );
      return null;
    });
    if (stored && storedWindowFresh(stored, certId, now)) {
      window = stored;
    } else {
      const answer = await ari.source.renewalInfo(certId);
      if (answer === null) return; // the CA has no ARI: the lifetime policy decides, nothing to report
      window = windowFromAnswer(certId, answer, stored, now, ari.random);
      await ari.windows.write(clusterName, cert.name, window).catch((error: unknown) => {
        ari.log(
          `ARI: the window of ${clusterName}/${cert.name} could not be stored (${(error as Error).message}); it is asked again next run`,
        );
      });
    }
  } catch (error) {
    const info = toErrorInfo(
      error instanceof RenewalInfoError ? error : new RenewalInfoError((error as Error).message),
    );
    cert.renewalInfoError = info;
    // A certificate another CA issued is not an outage: nothing to log (the report says why).
    if (info.message.includes('(not issued by this CA)')) return;
    // An unreachable CA is logged once, by the run's circuit breaker.
    if (error instanceof RenewalInfoError && error.unreachable) return;
    // A directory failure is one outage for every certificate: one line. Else one per certificate.
    const scope = info.message.includes('the ACME directory') ? '' : ` for ${clusterName}/${cert.name}`;
    ari.log(`ARI unavailable${scope}, the lifetime policy decides instead: ${info.message}`);
    return;
  }
  const decision = decideRenewal(
    { notBefore: new Date(cert.notBefore as string), notAfter: new Date(cert.notAfter as string) },
    now,
    config.renewBeforeDays,
    { renewAt: new Date(window.renewAt) },
  );
  cert.status = decision.status;
  cert.renewalTime = decision.renewalTime.toISOString();
  cert.renewalBasis = decision.basis;
  const backstop = lifetimeBackstop(new Date(cert.notBefore as string), new Date(cert.notAfter as string));
  const ignored = decision.ariIgnored
    ? `the CA's window (${window.start} to ${window.end}) would renew at ${window.renewAt}, after the lifetime backstop ` +
      `${backstop.at.toISOString()} (${backstop.basis === 'half' ? 'half' : 'two thirds'} of its lifetime; it expires ${cert.notAfter}): ` +
      'ARI never postpones a renewal past it, so it renews at the backstop'
    : undefined;
  cert.renewalInfo = {
    certId: window.certId,
    start: window.start,
    end: window.end,
    ...(window.explanationURL ? { explanationURL: window.explanationURL } : {}),
    renewAt: window.renewAt,
    nextFetchAt: window.nextFetchAt,
    backstop: backstop.at.toISOString(),
    ...(ignored ? { ignored } : {}),
  };
  if (ignored) {
    const warning = `${clusterName}/${cert.name}: ARI window ignored: ${ignored}`;
    cert.warnings = [...(cert.warnings ?? []), warning];
    ari.log(warning);
  }
}
