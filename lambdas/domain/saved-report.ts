/**
 * A report saved from `check --json` or `renew --json`, read back by `report --from` to render it
 * again. Checked for every field the page reads, so a file that is not such a report (an error
 * document, a truncated file, another program's JSON) is a clear ConfigError naming the field,
 * never a broken page.
 */
import { ConfigError } from './errors';
import type { FleetReport } from './report';

const STATUSES = new Set(['ok', 'expiring', 'expired', 'invalid']);

export function parseSavedReport(text: string, source: string): FleetReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw notAReport(source, `not valid JSON (${(error as Error).message})`);
  }
  const problem = reportProblem(value);
  if (problem) throw notAReport(source, problem);
  return value as FleetReport;
}

function notAReport(source: string, why: string): ConfigError {
  return new ConfigError(`--from ${source}: ${why}`, {
    hint: 'give a file written by check --json or renew --json (an error document has no report in it)',
  });
}

type Check = (v: unknown) => boolean;
const isString: Check = (v) => typeof v === 'string';
const isDate: Check = (v) => typeof v === 'string' && Number.isFinite(Date.parse(v));
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const isNumber: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isError: Check = (v) =>
  typeof v === 'object' &&
  v !== null &&
  isString((v as Record<string, unknown>).name) &&
  isString((v as Record<string, unknown>).message) &&
  optional(isString)((v as Record<string, unknown>).hint);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const CERTIFICATE_FIELDS: Record<string, Check> = {
  name: isString,
  status: (v) => typeof v === 'string' && STATUSES.has(v),
  action: isString,
  managed: (v) => typeof v === 'boolean',
  notBefore: orNull(isDate),
  notAfter: orNull(isDate),
  renewalTime: orNull(isDate),
  daysLeft: orNull(isNumber),
  dnsNames: (v) => Array.isArray(v) && v.every(isString),
  issuer: orNull(isString),
  serialNumber: orNull(isString),
  keyType: orNull(isString),
  keySize: orNull(isNumber),
  error: orNull(isError),
  renewed: optional(
    (v) => isObject(v) && isDate(v.notAfter) && isString(v.serialNumber) && isString(v.fingerprint256),
  ),
  skipped: optional(isString),
  issuerType: optional(isString),
  warnings: optional((v) => Array.isArray(v) && v.every(isString)),
  window: optional(
    (v) => isObject(v) && isString(v.decision) && orNull(isDate)(v.nextOpen) && orNull(isDate)(v.closesAt),
  ),
};

/** The first field that is not what a report holds, as a path (`clusters[2].certificates[0].notAfter`). */
function reportProblem(value: unknown): string | null {
  if (!isObject(value)) return 'not a JSON object';
  if (!Array.isArray(value.clusters))
    return isString(value.name) && isString(value.message)
      ? `an error document (${String(value.name)}), not a report`
      : 'clusters: missing (not a report)';
  if (!isDate(value.generatedAt)) return 'generatedAt: must be a date string';
  if (
    value.scheduleProblem !== undefined &&
    !(isObject(value.scheduleProblem) && isString(value.scheduleProblem.message))
  )
    return 'scheduleProblem: must be an object with a message';
  if (value.dryRun !== undefined && typeof value.dryRun !== 'boolean') return 'dryRun: must be true or false';
  for (const [i, cluster] of value.clusters.entries()) {
    const at = `clusters[${i}]`;
    if (!isObject(cluster)) return `${at}: must be an object`;
    if (!isString(cluster.name)) return `${at}.name: must be a string`;
    if (!orNull(isError)(cluster.error)) return `${at}.error: must be null or {name, message, hint}`;
    if (!optional((v) => Array.isArray(v) && v.every(orNull(isString)))(cluster.softwareVersions))
      return `${at}.softwareVersions: must be a list of strings`;
    if (!optional(isString)(cluster.pushApi)) return `${at}.pushApi: must be a string`;
    if (!Array.isArray(cluster.certificates)) return `${at}.certificates: must be a list`;
    for (const [j, cert] of cluster.certificates.entries()) {
      if (!isObject(cert)) return `${at}.certificates[${j}]: must be an object`;
      for (const [field, check] of Object.entries(CERTIFICATE_FIELDS))
        if (!check(cert[field])) return `${at}.certificates[${j}].${field}: not what a report holds`;
    }
  }
  return null;
}
