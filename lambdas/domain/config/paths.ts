/**
 * The file paths a configuration names (state directory, CA files, a local CA's certificate and key),
 * made absolute against the directory of the file that named them. One function for the operator's
 * config (CLI, CDK app) and the config a deployment bundled (Lambdas): no zod here.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ManagedCertificateConfig, WatchdogConfig } from './types';

export function resolveConfigPaths<C extends WatchdogConfig>(config: C, baseDir: string): C {
  const at = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  const issuerAt = (issuer: ManagedCertificateConfig['issuer']): ManagedCertificateConfig['issuer'] =>
    typeof issuer === 'object' && issuer.type === 'local-ca'
      ? { ...issuer, certFile: at(issuer.certFile) as string, keyFile: at(issuer.keyFile) }
      : issuer;
  return {
    ...config,
    stateDir: at(config.stateDir) as string,
    acme: config.acme && { ...config.acme, caFile: at(config.acme.caFile) },
    clusters: config.clusters.map((c) => ({
      ...c,
      caFile: at(c.caFile),
      certificates: Object.fromEntries(
        Object.entries(c.certificates).map(([name, cert]) => [
          name,
          { ...cert, issuer: issuerAt(cert.issuer) },
        ]),
      ),
      ...(c.databases && {
        databases: Object.fromEntries(
          Object.entries(c.databases).map(([uid, cert]) => [uid, { ...cert, issuer: issuerAt(cert.issuer) }]),
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
