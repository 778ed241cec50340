/**
 * The file paths a configuration names (state directory, CA files, a local CA's certificate and key),
 * made absolute against the directory of the file that named them. One function for the operator's
 * config (CLI, CDK app) and the config a deployment bundled (Lambdas): no zod here.
 */
import { isAbsolute, resolve } from 'node:path';
import type { DnsConfig, DnsProviderConfig, ManagedCertificateConfig, WatchdogConfig } from './types';

export function resolveConfigPaths<C extends WatchdogConfig>(config: C, baseDir: string): C {
  const at = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  const issuerAt = (issuer: ManagedCertificateConfig['issuer']): ManagedCertificateConfig['issuer'] =>
    typeof issuer === 'object' && issuer.type === 'local-ca'
      ? { ...issuer, certFile: at(issuer.certFile) as string, keyFile: at(issuer.keyFile) }
      : issuer;
  // An exec hook given as a relative path ("./hooks/dns") is relative to the config, like a CA file;
  // a bare program name ("dns-hook") is looked up on PATH, as a shell would.
  const providerAt = (p: DnsProviderConfig): DnsProviderConfig => {
    if (p.provider !== 'exec') return p;
    const [program, ...args] = p.command as [string, ...string[]];
    return { ...p, command: [program.includes('/') ? (at(program) as string) : program, ...args] };
  };
  const dnsAt = (d: DnsConfig | undefined): DnsConfig | undefined =>
    d === undefined ? undefined : Array.isArray(d) ? d.map(providerAt) : providerAt(d);
  return {
    ...config,
    stateDir: at(config.stateDir) as string,
    dns: dnsAt(config.dns),
    acme: config.acme && { ...config.acme, caFile: at(config.acme.caFile) },
    clusters: config.clusters.map((c) => ({
      ...c,
      caFile: at(c.caFile),
      dns: dnsAt(c.dns),
      certificates: Object.fromEntries(
        Object.entries(c.certificates).map(([name, cert]) => [
          name,
          { ...cert, issuer: issuerAt(cert.issuer), dns: dnsAt(cert.dns) },
        ]),
      ),
      ...(c.databases && {
        databases: Object.fromEntries(
          Object.entries(c.databases).map(([uid, cert]) => [
            uid,
            { ...cert, issuer: issuerAt(cert.issuer), dns: dnsAt(cert.dns) },
          ]),
        ),
      }),
      ...(c.clientCertificate && {
        clientCertificate: {
          ...c.clientCertificate,
          certFile: at(c.clientCertificate.certFile) as string,
          ...(c.clientCertificate.keyFile !== undefined ? { keyFile: at(c.clientCertificate.keyFile) } : {}),
          ...(c.clientCertificate.issuer
            ? {
                issuer: issuerAt(c.clientCertificate.issuer) as NonNullable<
                  typeof c.clientCertificate.issuer
                >,
              }
            : {}),
        },
      }),
    })),
  };
}
