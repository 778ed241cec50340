/**
 * What the last check before a push costs: checkWithPeers (domain/renewal/push.ts) through the
 * loopback TLS handshake (adapters/tls/handshake.ts), as a server (api, proxy: its clients verify it)
 * and as a server and a client (syncer: the servers it connects to verify it too), RSA-2048 and
 * ECDSA P-256 leaves under an intermediate. It runs once per certificate pushed, never on `check`.
 * Runs alternate between the cases.
 *
 *   tsx bench/peer-handshake.bench.ts
 */
import { verifyByHandshake } from '../lambdas/adapters/tls/handshake';
import { checkWithPeers } from '../lambdas/domain/renewal/push';
import { createCa, type IssuedCert, issueCert, type KeyKind } from '../test/support/pki';
import {
  consoleTable,
  fmtMs,
  log,
  machineInfo,
  markdownTable,
  type Result,
  runIfMain,
  type Summary,
  summarize,
  type Target,
  targetsTable,
  writeResult,
} from './support/common';

const ITER = { runs: 60, warmup: 5 } as const;
const ctx = { handshake: verifyByHandshake };

interface Case {
  label: string;
  name: string;
  leaf: IssuedCert;
  trust: string[];
}

async function chain(kind: KeyKind): Promise<{ leaf: IssuedCert; root: string }> {
  const root = await createCa({ commonName: `Bench ${kind} root`, keyKind: kind });
  const intermediate = await createCa({
    commonName: `Bench ${kind} intermediate`,
    keyKind: kind,
    issuer: root,
  });
  const leaf = await issueCert({
    ca: intermediate,
    chain: [intermediate],
    dnsNames: ['api.example.com'],
    keyKind: kind,
  });
  return { leaf, root: root.certPem };
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  const rsa = await chain('rsa');
  const ec = await chain('ecdsa');
  const cases: Case[] = [
    { label: 'api, RSA-2048 (as a server)', name: 'api', leaf: rsa.leaf, trust: [rsa.root] },
    {
      label: 'syncer, RSA-2048 (as a server and a client)',
      name: 'syncer',
      leaf: rsa.leaf,
      trust: [rsa.root],
    },
    { label: 'api, ECDSA P-256 (as a server)', name: 'api', leaf: ec.leaf, trust: [ec.root] },
    {
      label: 'syncer, ECDSA P-256 (as a server and a client)',
      name: 'syncer',
      leaf: ec.leaf,
      trust: [ec.root],
    },
  ];
  const once = (c: Case) =>
    checkWithPeers(ctx, { name: c.name, certificatePem: c.leaf.chainPem, keyPem: c.leaf.keyPem }, c.trust);
  for (const c of cases) for (let i = 0; i < ITER.warmup; i++) await once(c);
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < ITER.runs; i++) {
    for (const [k, c] of cases.entries()) {
      const t = performance.now();
      await once(c);
      samples[k]!.push(performance.now() - t);
    }
  }
  const stats: Summary[] = samples.map((s) => summarize(s));
  const headers = ['Check', 'Median', 'p90', 'Min–max', 'Runs'];
  const rows = cases.map((c, k) => {
    const s = stats[k]!;
    return [c.label, fmtMs(s.median), fmtMs(s.p90), `${fmtMs(s.min)}–${fmtMs(s.max)}`, String(s.n)];
  });
  log(consoleTable(headers, rows));
  const worst = Math.max(...stats.map((s) => s.median));
  const targets: Target[] = [
    {
      name: 'One certificate checked by its peers before a push (median, worst case)',
      threshold: '< 100 ms',
      measured: fmtMs(worst),
      pass: worst < 100,
    },
  ];
  const markdown = [
    `checkWithPeers on a leaf under an intermediate, trust one extra root: ${ITER.runs} runs each after ` +
      `${ITER.warmup} warm-up runs, alternating. The client side reuses the public root store Node parsed once ` +
      "(adapters/tls/trust.ts); a certificate also checked as a client makes the server side trust the peers' CA.",
    '',
    markdownTable(headers, rows, ['l', 'r', 'r', 'r', 'r']),
    '',
    targetsTable(targets),
  ].join('\n');
  const result: Result = {
    name: 'peer-handshake',
    title: 'The last check before a push: a TLS handshake with the peers’ trust',
    markdown,
    targets,
    durationMs: performance.now() - started,
    data: { iterations: ITER, cases: cases.map((c, k) => ({ label: c.label, stats: stats[k] })), samples },
  };
  writeResult(result, machine);
  return result;
}

runIfMain(import.meta.url, run);
