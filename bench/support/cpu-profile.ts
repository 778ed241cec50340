/** In-process CPU profiling through the inspector, and a self-time summary of the profile. */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  wallMs: number;
  totalSampledMs: number;
  topFunctions: Array<{ name: string; where: string; selfMs: number; percent: number }>;
  byFile: Array<{ file: string; selfMs: number; percent: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const repo = url.indexOf('/lambdas/');
  if (repo >= 0) return url.slice(repo + 1);
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(profile: Profile, wallMs: number, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const fileTotals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '(native / V8)';
    const key = `${name}@${where}`;
    const entry = fnTotals.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fnTotals.set(key, entry);
    const file = url ? shortUrl(url) : name.startsWith('(') ? name : '(native)';
    fileTotals.set(file, (fileTotals.get(file) ?? 0) + us);
  }
  return {
    wallMs,
    totalSampledMs: total / 1000,
    topFunctions: [...fnTotals.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, percent: (100 * f.us) / total })),
    byFile: [...fileTotals.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([file, us]) => ({ file, selfMs: us / 1000, percent: (100 * us) / total })),
  };
}

/** Known native frames, named for a reader of the summary. */
const NATIVE_LABELS: Record<string, string> = {
  init: 'KeyObjectHandle.init: createPrivateKey / createPublicKey key parsing',
  parseX509: 'X509Certificate constructor (certificate parse)',
  getPeerCertificate: 'TLS: getPeerCertificate (server identity check)',
  connect: 'TLS/TCP connect',
  start: 'TLS handshake start',
  close: 'socket / TLS close',
  keyDetail: 'KeyObject.asymmetricKeyDetails',
  fingerprint256: 'X509Certificate.fingerprint256',
};

export function labelOf(name: string, where: string): string {
  return where === '(native / V8)' && NATIVE_LABELS[name] ? `${name} (${NATIVE_LABELS[name]})` : name;
}

/** Profiles `fn` with a 200 µs sampling interval. */
export async function profile<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; profile: Profile; wallMs: number }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const t0 = performance.now();
    const value = await fn();
    const wallMs = performance.now() - t0;
    const { profile: p } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    return { value, profile: p, wallMs };
  } finally {
    session.disconnect();
  }
}
