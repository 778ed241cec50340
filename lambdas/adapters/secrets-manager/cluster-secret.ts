import type { ClusterConfig } from '../../domain/config/types';
import { ConfigError } from '../../domain/errors';
import type { ClusterAccess } from '../../domain/ports';
import { readPemFile } from '../config-file/pem';

/** Parses a cluster secret: {"username","password","caPem"?}; the pinned CA may also come from caFile. */
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
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new ConfigError(
      `cluster "${cluster.name}": secret ${secretId} lacks string "username" and "password"`,
    );
  }
  const caPem =
    typeof parsed.caPem === 'string'
      ? parsed.caPem
      : cluster.caFile
        ? readPemFile(cluster.caFile, `clusters["${cluster.name}"].caFile`)
        : undefined;
  return { username: parsed.username, password: parsed.password, caPem };
}
