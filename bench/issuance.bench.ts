/**
 * One RSA-2048 certificate for one new DNS name, DNS-01 through the same Pebble and the same
 * lego-httpreq bridge, by: this project's AcmeIssuer (in-process, in a fresh tsx process, and in a
 * fresh node process running an esbuild bundle), lego and certbot. Every client registers a fresh
 * ACME account on every run. Runs are interleaved and their order rotates each round.
 */
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { lambdaBuildOptions } from '../lib/bundling/esbuild-options';
import { type DnsBridge, startDnsBridge } from '../test/support/dns-bridge';
import { type PebbleEnv, startPebble } from '../test/support/pebble';
import {
  childEnv,
  consoleTable,
  fmt,
  fmtMs,
  log,
  machineInfo,
  markdownTable,
  REPO_DIR,
  type Result,
  runIfMain,
  summarize,
  type Target,
  TSX_BIN,
  targetsTable,
  writeResult,
} from './support/common';
import { type IssueTrace, issueOnce } from './support/issue-once';

const ROUNDS = 9;
const CHILD_TIMEOUT_MS = 120_000;
const TRACE_RUNS = 5;
/** dpkg-query's own placeholder syntax, not a template string. */
const DPKG_VERSION_FORMAT = ['-f=$', '{Version}'].join('');

interface Attempt {
  ok: boolean;
  wallMs: number;
  error?: string;
  /** Our child processes: process start → main (node start-up and module loading). */
  startupMs?: number;
  /** Our child processes: the issuance itself, as timed inside the process. */
  innerMs?: number;
}

interface ChildReport {
  ok: boolean;
  startupMs: number;
  ms: number;
  trace?: IssueTrace;
}

function parseReport(stdout: string): ChildReport | undefined {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as ChildReport;
  } catch {
    return undefined;
  }
}

interface Client {
  id: string;
  label: string;
  /** Informational rows are not part of the target comparison. */
  informational?: boolean;
  issue(domain: string, workDir: string): Promise<Attempt>;
}

function runChild(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number; wallMs: number; stdout: string; stderr: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, cwd, timeout: CHILD_TIMEOUT_MS, maxBuffer: 8 * 2 ** 20 },
      (error, stdout, stderr) => {
        const wallMs = performance.now() - t0;
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, wallMs, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The certificate must exist, parse, and name the domain. */
function checkCertificate(file: string, domain: string): string | undefined {
  if (!existsSync(file)) return `no certificate at ${file}`;
  try {
    const cert = new X509Certificate(readFileSync(file));
    if (!(cert.subjectAltName ?? '').includes(`DNS:${domain}`)) return `certificate does not name ${domain}`;
    return undefined;
  } catch (error) {
    return `certificate does not parse: ${(error as Error).message}`;
  }
}

function tail(text: string, lines = 12): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** "<tool output> (Debian <version>)", or what went wrong. */
function toolVersion(cmd: string, args: string[], pkg: string): string {
  let version: string;
  try {
    version = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    version = `unavailable (${(error as Error).message.split('\n')[0]})`;
  }
  return `${version} (Debian ${debianVersion(pkg)})`;
}

function debianVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', DPKG_VERSION_FORMAT, pkg], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function bundleIssuer(dir: string): Promise<string> {
  const outfile = join(dir, 'issue-once.mjs');
  // The Lambda functions' own options (lib/bundling/esbuild-options.ts): the bench measures what ships.
  await build({
    absWorkingDir: REPO_DIR,
    entryPoints: ['bench/support/issue-once.ts'],
    outfile,
    ...lambdaBuildOptions(REPO_DIR),
    logLevel: 'silent',
  });
  return outfile;
}

function clients(pebble: PebbleEnv, bridge: DnsBridge, bundle: string, hooksDir: string): Client[] {
  const env = childEnv();
  const oursArgs = (domain: string, workDir: string) => [
    pebble.directoryUrl,
    pebble.caFile,
    bridge.url,
    domain,
    join(workDir, 'state'),
  ];
  const oursChild = async (cmd: string, args: string[]): Promise<Attempt> => {
    const r = await runChild(cmd, args, env, REPO_DIR);
    const report = parseReport(r.stdout);
    const ok = r.code === 0 && report?.ok === true;
    return {
      ok,
      wallMs: r.wallMs,
      ...(report ? { startupMs: report.startupMs, innerMs: report.ms } : {}),
      ...(ok ? {} : { error: tail(r.stderr || r.stdout) }),
    };
  };
  const legoEnv = (pollingSeconds: string | undefined) =>
    childEnv({
      HTTPREQ_ENDPOINT: bridge.url,
      LEGO_CA_CERTIFICATES: pebble.caFile,
      ...(pollingSeconds !== undefined ? { HTTPREQ_POLLING_INTERVAL: pollingSeconds } : {}),
    });
  const lego = (pollingSeconds: string | undefined) => async (domain: string, workDir: string) => {
    const path = join(workDir, 'lego');
    const r = await runChild(
      '/usr/bin/lego',
      [
        '--server',
        pebble.directoryUrl,
        '--accept-tos',
        '--email',
        'ops@example.com',
        '--domains',
        domain,
        '--key-type',
        'rsa2048',
        '--dns',
        'httpreq',
        '--dns.resolvers',
        pebble.dns.dnsAddress,
        '--dns.disable-cp',
        '--path',
        path,
        'run',
      ],
      legoEnv(pollingSeconds),
      workDir,
    );
    const problem =
      r.code !== 0
        ? tail(r.stderr || r.stdout)
        : checkCertificate(join(path, 'certificates', `${domain}.crt`), domain);
    return { ok: problem === undefined, wallMs: r.wallMs, ...(problem ? { error: problem } : {}) };
  };
  return [
    {
      id: 'ours-in-process',
      label: 'rs-cert-watchdog AcmeIssuer, in-process (warm)',
      issue: async (domain, workDir) => {
        const t0 = performance.now();
        try {
          const { certificatePem } = await issueOnce({
            directoryUrl: pebble.directoryUrl,
            caFile: pebble.caFile,
            endpoint: bridge.url,
            domain,
            stateDir: join(workDir, 'state'),
          });
          const wallMs = performance.now() - t0;
          const leaf = new X509Certificate(certificatePem);
          const ok = (leaf.subjectAltName ?? '').includes(`DNS:${domain}`);
          return { ok, wallMs, ...(ok ? {} : { error: 'certificate does not name the domain' }) };
        } catch (error) {
          return { ok: false, wallMs: performance.now() - t0, error: (error as Error).message };
        }
      },
    },
    {
      id: 'ours-tsx',
      label: 'rs-cert-watchdog AcmeIssuer, fresh `tsx` process',
      issue: (domain, workDir) =>
        oursChild(TSX_BIN, ['bench/support/issue-once.ts', ...oursArgs(domain, workDir)]),
    },
    {
      id: 'ours-node-bundle',
      label: 'rs-cert-watchdog AcmeIssuer, fresh `node` process (esbuild bundle)',
      issue: (domain, workDir) => oursChild(process.execPath, [bundle, ...oursArgs(domain, workDir)]),
    },
    {
      id: 'lego',
      label: 'lego, `HTTPREQ_POLLING_INTERVAL=0` + `--dns.disable-cp`',
      issue: lego('0'),
    },
    {
      id: 'lego-default-interval',
      label: 'lego, `--dns.disable-cp` only (default 2 s polling interval)',
      informational: true,
      issue: lego(undefined),
    },
    {
      id: 'certbot',
      label: 'certbot `certonly --manual` with curl hooks',
      issue: async (domain, workDir) => {
        const r = await runChild(
          '/usr/bin/certbot',
          [
            'certonly',
            '--manual',
            '--preferred-challenges',
            'dns',
            '--manual-auth-hook',
            join(hooksDir, 'auth.sh'),
            '--manual-cleanup-hook',
            join(hooksDir, 'cleanup.sh'),
            '--server',
            pebble.directoryUrl,
            '--config-dir',
            join(workDir, 'config'),
            '--work-dir',
            join(workDir, 'work'),
            '--logs-dir',
            join(workDir, 'logs'),
            '--non-interactive',
            '--agree-tos',
            '-m',
            'ops@example.com',
            '--no-eff-email',
            '--key-type',
            'rsa',
            '--rsa-key-size',
            '2048',
            '-d',
            domain,
          ],
          childEnv({ REQUESTS_CA_BUNDLE: pebble.caFile, BRIDGE_URL: bridge.url }),
          workDir,
        );
        const problem =
          r.code !== 0
            ? tail(r.stderr || r.stdout)
            : checkCertificate(join(workDir, 'config', 'live', domain, 'fullchain.pem'), domain);
        return { ok: problem === undefined, wallMs: r.wallMs, ...(problem ? { error: problem } : {}) };
      },
    },
  ];
}

function writeHooks(dir: string): void {
  const hook = (op: 'present' | 'cleanup') =>
    [
      '#!/bin/sh',
      '# certbot manual hook: publish / remove the DNS-01 TXT record through the httpreq bridge.',
      "exec curl -sS --fail -o /dev/null -X POST -H 'Content-Type: application/json' \\",
      `  -d "{\\"fqdn\\":\\"_acme-challenge.\${CERTBOT_DOMAIN}.\\",\\"value\\":\\"\${CERTBOT_VALIDATION}\\"}" "\${BRIDGE_URL}/${op}"`,
      '',
    ].join('\n');
  writeFileSync(join(dir, 'auth.sh'), hook('present'));
  writeFileSync(join(dir, 'cleanup.sh'), hook('cleanup'));
  chmodSync(join(dir, 'auth.sh'), 0o755);
  chmodSync(join(dir, 'cleanup.sh'), 0o755);
}

export async function run(): Promise<Result> {
  const started = performance.now();
  const machine = machineInfo();
  log('\n## issuance: one RSA-2048 certificate, DNS-01, same Pebble and httpreq bridge');
  const root = mkdtempSync(join(tmpdir(), 'bench-issuance-'));
  const pebble = await startPebble({ authzReusePercent: 0, nonceRejectPercent: 0 });
  const bridge = await startDnsBridge(pebble.dns);
  try {
    const hooksDir = join(root, 'hooks');
    mkdirSync(hooksDir);
    writeHooks(hooksDir);
    const bundle = await bundleIssuer(root);
    const list = clients(pebble, bridge, bundle, hooksDir);
    const versions = {
      lego: `${debianVersion('lego')} (Debian package; \`lego --version\` says "dev")`,
      certbot: toolVersion('/usr/bin/certbot', ['--version'], 'certbot'),
      pebble: `${debianVersion('pebble')} (Debian package)`,
      acmeClient: JSON.parse(readFileSync(join(REPO_DIR, 'node_modules/acme-client/package.json'), 'utf8'))
        .version as string,
    };

    let seq = 0;
    const attempt = async (client: Client, measured: boolean) => {
      seq++;
      const domain = `bench-${process.pid}-${seq}-${client.id}.example.com`;
      const workDir = join(root, `${seq}-${client.id}`);
      mkdirSync(workDir);
      const calls = bridge.calls.length;
      const a = await client.issue(domain, workDir);
      const bridgeCalls = bridge.calls.length - calls;
      rmSync(workDir, { recursive: true, force: true });
      if (!a.ok) log(`  ${client.id} failed: ${a.error}`);
      return { ...a, domain, bridgeCalls, measured };
    };

    // Unmeasured first run of each client: page cache, Pebble warm, errors surface early.
    const warmups: Record<string, Attempt> = {};
    for (const c of list) warmups[c.id] = await attempt(c, false);

    const attempts: Record<string, Array<Attempt & { bridgeCalls: number }>> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const order = list.map((_, i) => list[(i + round) % list.length] as Client);
      const line: string[] = [];
      for (const c of order) {
        const a = await attempt(c, true);
        attempts[c.id] = [...(attempts[c.id] ?? []), a];
        line.push(`${c.id} ${a.ok ? fmtMs(a.wallMs) : 'FAILED'}`);
      }
      log(`  round ${round + 1}: ${line.join(', ')}`);
    }

    const rows = list.map((c) => {
      const all = attempts[c.id] ?? [];
      const ok = all.filter((a) => a.ok);
      return {
        id: c.id,
        label: c.label,
        informational: c.informational ?? false,
        succeeded: ok.length,
        runs: all.length,
        wall: summarize(ok.map((a) => a.wallMs)),
        startupMs: ok.some((a) => a.startupMs !== undefined)
          ? summarize(ok.map((a) => a.startupMs ?? Number.NaN)).median
          : null,
        innerMs: ok.some((a) => a.innerMs !== undefined)
          ? summarize(ok.map((a) => a.innerMs ?? Number.NaN)).median
          : null,
        errors: all.filter((a) => !a.ok).map((a) => a.error ?? ''),
        warmupError: warmups[c.id]?.ok ? null : (warmups[c.id]?.error ?? null),
      };
    });
    const legoRow = rows.find((r) => r.id === 'lego');
    const legoMedian = legoRow && legoRow.succeeded > 0 ? legoRow.wall.median : Number.NaN;
    // lego waits 5 s (no Retry-After from Pebble) when its challenge POST answers `processing`:
    // those runs stand out by ≥ 4.5 s over the row's fastest run.
    const legoOk = (attempts.lego ?? []).filter((a) => a.ok).map((a) => a.wallMs);
    const legoFloor = Math.min(...legoOk);
    const legoWaited = legoOk.filter((ms) => ms >= legoFloor + 4500).length;
    const legoNoWaitMedian = summarize(legoOk.filter((ms) => ms < legoFloor + 4500)).median;

    const headers = [
      'Client',
      'OK',
      'Wall (median)',
      'p90',
      'Min–max',
      'vs lego (median)',
      'Start-up + module load / issuance (medians)',
    ];
    const tableRows = rows.map((r) => [
      r.label,
      `${r.succeeded}/${r.runs}`,
      r.succeeded ? fmtMs(r.wall.median) : 'failed',
      r.succeeded ? fmtMs(r.wall.p90) : '',
      r.succeeded ? `${fmtMs(r.wall.min)}–${fmtMs(r.wall.max)}` : '',
      r.succeeded && Number.isFinite(legoMedian) ? `${fmt(r.wall.median / legoMedian, 2)}×` : 'n/a',
      r.startupMs !== null && r.innerMs !== null ? `${fmtMs(r.startupMs)} / ${fmtMs(r.innerMs)}` : '–',
    ]);
    log(consoleTable(headers, tableRows));

    // Where a fresh bundled process spends its time (not part of the comparison above).
    const traces: NonNullable<ChildReport['trace']>[] = [];
    const traceStartup: number[] = [];
    for (let i = 0; i < TRACE_RUNS; i++) {
      seq++;
      const workDir = join(root, `${seq}-trace`);
      mkdirSync(workDir);
      const r = await runChild(
        process.execPath,
        [
          bundle,
          pebble.directoryUrl,
          pebble.caFile,
          bridge.url,
          `bench-${process.pid}-${seq}-trace.example.com`,
          join(workDir, 'state'),
          '--trace',
        ],
        childEnv(),
        REPO_DIR,
      );
      const report = parseReport(r.stdout);
      if (report?.trace) {
        traces.push(report.trace);
        traceStartup.push(report.startupMs);
      }
      rmSync(workDir, { recursive: true, force: true });
    }
    const traceMedian = (pick: (t: NonNullable<ChildReport['trace']>) => number) =>
      summarize(traces.map(pick)).median;
    const split = {
      runs: traces.length,
      startupMs: summarize(traceStartup).median,
      issuerSetupMs: traceMedian((t) => t.issuerSetupMs),
      preAcmeMs: traceMedian((t) => t.preAcmeMs),
      acmeMs: traceMedian((t) => t.acmeMs),
      postAcmeMs: traceMedian((t) => t.postAcmeMs),
      httpRequests: traceMedian((t) => t.httpRequests),
      nonceRequests: traceMedian((t) => t.nonceRequests),
    };
    const splitTable = markdownTable(
      [
        `Fresh \`node\` process (bundle), medians of ${split.runs}`,
        'Start-up + module load',
        'new AcmeIssuer (CA file, TLS trust context)',
        'Then until the first ACME request',
        'ACME traffic (incl. DNS present)',
        'After last answer (cleanup)',
        'HTTP requests (of which HEAD new-nonce)',
      ],
      [
        [
          'split (acme-client log timestamps)',
          fmtMs(split.startupMs),
          fmtMs(split.issuerSetupMs),
          fmtMs(split.preAcmeMs),
          fmtMs(split.acmeMs),
          fmtMs(split.postAcmeMs),
          `${fmt(split.httpRequests, 0)} (${fmt(split.nonceRequests, 0)})`,
        ],
      ],
    );
    log(`  split of a fresh bundled process: ${JSON.stringify(split)}`);

    const row = (id: string) => rows.find((r) => r.id === id);
    const ratio = (id: string) => (row(id)?.wall.median ?? Number.NaN) / legoMedian;
    const ratioNoWait = (id: string) => (row(id)?.wall.median ?? Number.NaN) / legoNoWaitMedian;
    const targets: Target[] = [
      {
        name: 'Fresh process (node, bundled) not slower than lego',
        threshold: '≤ 1.00× lego',
        measured: `${fmt(ratio('ours-node-bundle'), 2)}×`,
        pass: ratio('ours-node-bundle') <= 1,
      },
      {
        name: 'Fresh process (node, bundled) not slower than lego runs without its 5 s wait',
        threshold: '≤ 1.00×',
        measured: `${fmt(ratioNoWait('ours-node-bundle'), 2)}×`,
        pass: ratioNoWait('ours-node-bundle') <= 1,
      },
      {
        name: 'Fresh process (tsx) not slower than lego',
        threshold: '≤ 1.00× lego',
        measured: `${fmt(ratio('ours-tsx'), 2)}×`,
        pass: ratio('ours-tsx') <= 1,
      },
      {
        name: 'In-process issuance not slower than lego (whole process)',
        threshold: '≤ 1.00× lego',
        measured: `${fmt(ratio('ours-in-process'), 2)}×`,
        pass: ratio('ours-in-process') <= 1,
      },
    ];

    const failures = rows.filter((r) => r.errors.length > 0 || r.warmupError);
    const failureNotes = failures.map(
      (r) =>
        `- ${r.label}: ${r.errors.length} failed run(s)${r.warmupError ? ' (warm-up failed too)' : ''}; last error:\n\n\`\`\`\n${r.errors.at(-1) ?? r.warmupError}\n\`\`\``,
    );

    const markdown = [
      `Pebble ${versions.pebble}: \`PEBBLE_VA_NOSLEEP=1\`, authorization reuse 0 %, nonce rejection 0 %; one pebble-challtestsrv, one httpreq bridge (test/support/dns-bridge.ts). ` +
        `Each run: a new DNS name and a **fresh ACME account for every client** (new state dir / --path / --config-dir), RSA-2048 certificate key, DNS-01. ` +
        `${ROUNDS} measured rounds after one unmeasured warm-up per client, clients interleaved with the order rotated each round. ` +
        'External tools: wall time of the process. Ours: wall time of a fresh `tsx` process (TypeScript compiled at start-up), ' +
        'of a fresh `node` process running an esbuild bundle of the same code (as the Lambda functions ship: dependencies bundled, minified), and of the same call in this warm process.',
      '',
      `lego ${versions.lego}: \`--dns httpreq\`, \`--dns.resolvers ${'<challtestsrv>'}\`, \`--dns.disable-cp\` (this version has no \`--dns.propagation-wait\`). ` +
        'lego also sleeps one polling interval before its first propagation check (2 s by default for httpreq): `HTTPREQ_POLLING_INTERVAL=0` removes that sleep; ' +
        'the row with the default interval is shown for information only. lego also sleeps 5 s when the challenge is still `processing` in the answer to its POST ' +
        '(Pebble sends no Retry-After), which happens in some runs and shows in p90/max.',
      '',
      `${versions.certbot}: \`certonly --manual --preferred-challenges dns\` with curl hooks to the bridge, \`--key-type rsa --rsa-key-size 2048\`. ` +
        `acme-client ${versions.acmeClient}.`,
      '',
      markdownTable(headers, tableRows, ['l', 'r', 'r', 'r', 'r', 'r']),
      '',
      `lego (\`HTTPREQ_POLLING_INTERVAL=0\`) waited its 5 s in ${legoWaited} of ${legoOk.length} runs; its median without those runs is ` +
        `${fmtMs(legoNoWaitMedian)}, against which our fresh bundled process is ${fmt(ratioNoWait('ours-node-bundle'), 2)}×, ` +
        `the fresh tsx process ${fmt(ratioNoWait('ours-tsx'), 2)}× and the warm in-process call ${fmt(ratioNoWait('ours-in-process'), 2)}×.`,
      '',
      targetsTable(targets),
      '',
      'Where our fresh-process time goes (separate traced runs, not in the comparison):',
      '',
      splitTable,
      '',
      `A fresh bundled process spends ~${fmtMs(split.startupMs)} starting node and loading the bundle (acme-client, axios, @peculiar/x509), ` +
        `~${fmtMs(split.issuerSetupMs)} in \`new AcmeIssuer\` (CA file, TLS trust context, the first TLS context of the process), ` +
        `~${fmtMs(split.preAcmeMs)} until its first ACME request (account key, state write) and ~${fmtMs(split.acmeMs)} in the ACME exchange ` +
        '(the issuer generates the certificate key and CSR alongside it; finalize waits for them, so a slow RSA key shows here). ' +
        `acme-client sends a HEAD new-nonce before every signed request (${fmt(split.nonceRequests, 0)} of ${fmt(split.httpRequests, 0)} requests here) ` +
        'instead of reusing the Replay-Nonce of the previous answer: ~1 ms each on loopback, one extra round trip each against a real CA.',
      ...(failureNotes.length ? ['', 'Failures:', '', ...failureNotes] : []),
    ].join('\n');

    const result: Result = {
      name: 'issuance',
      title: 'Issuance: AcmeIssuer vs lego vs certbot (Pebble, DNS-01)',
      markdown,
      targets,
      durationMs: performance.now() - started,
      data: {
        rounds: ROUNDS,
        versions,
        rows,
        lego5sWait: { runs: legoOk.length, waited: legoWaited, medianWithoutWaitMs: legoNoWaitMedian },
        attempts,
        warmups,
        freshProcessSplit: split,
        traces,
      },
    };
    writeResult(result, machine);
    return result;
  } finally {
    await bridge.close();
    await pebble.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
