import type { ClusterConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import type { ClusterAccess } from '../../domain/ports';
import { readPemFile } from '../config-file/pem';

/**
 * Parses a cluster secret: {"username","password","caPem"?}; the pinned CA may also come from
 * caFile. With a client certificate (certificate login) username and password are optional.
 */
export function accessFromSecret(
  cluster: ClusterConfig,
  secretId: string,
  text: string | undefined,
): ClusterAccess {
  let parsed: { username?: unknown; password?: unknown; caPem?: unknown };
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new ConfigError(
      `cluster "${cluster.name}": secret ${secretId} is not JSON {"username","password"}`,
    );
  }
  const certificateLogin = cluster.clientCertificate !== undefined;
  const strings = typeof parsed.username === 'string' && typeof parsed.password === 'string';
  const absent = parsed.username === undefined && parsed.password === undefined;
  if (!strings && !(certificateLogin && absent)) {
    throw new ConfigError(
      `cluster "${cluster.name}": secret ${secretId} lacks string "username" and "password"${certificateLogin ? ' (leave both out to log in with clientCertificate alone)' : ''}`,
    );
  }
  return {
    username: strings ? (parsed.username as string) : '',
    password: strings ? (parsed.password as string) : '',
    caPem: typeof parsed.caPem === 'string' ? parsed.caPem : configuredCa(cluster),
  };
}

/** The pinned CA from caFile, for a cluster without a credentials secret (certificate login). */
export function configuredCa(cluster: ClusterConfig): string | undefined {
  return cluster.caFile ? readPemFile(cluster.caFile, `clusters["${cluster.name}"].caFile`) : undefined;
}
