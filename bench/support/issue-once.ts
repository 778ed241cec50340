/**
 * One certificate through this project's AcmeIssuer, as a stand-alone process (for the issuance
 * benchmark's fresh-process comparison with lego and certbot), or in-process through `issueOnce`.
 *
 *   tsx bench/support/issue-once.ts <directoryUrl> <caFile> <httpreqEndpoint> <domain> <stateDir>
 *
 *   [--trace]
 *
 * Prints one JSON line: { ok, startupMs (process start → main, module loading included), ms (the
 * issuance itself) } and with --trace a split of `ms` from acme-client's log: `new AcmeIssuer`, then
 * until the first ACME request, the ACME traffic, after the last answer.
 * Uses a fresh ACME account when stateDir is empty (the benchmark gives it a new directory every run).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import acme from 'acme-client';
import { AcmeIssuer } from '../../lambdas/adapters/acme/issuer';
import { HttpReqDnsProvider } from '../../lambdas/adapters/httpreq/dns-provider';
import { LocalDirectoryStore } from '../../lambdas/adapters/local-directory/state-directory';
import { StateStore } from '../../lambdas/domain/state';

export interface IssueOnceOptions {
  directoryUrl: string;
  caFile: string;
  endpoint: string;
  domain: string;
  stateDir: string;
}

export async function issueOnce(
  opts: IssueOnceOptions,
): Promise<{ certificatePem: string; issuerSetupMs: number }> {
  const t0 = performance.now();
  const issuer = new AcmeIssuer({
    acme: {
      directoryUrl: opts.directoryUrl,
      email: 'ops@example.com',
      caFile: opts.caFile,
      keyType: 'rsa-2048',
    },
    trustPem: readFileSync(opts.caFile, 'utf8'),
    dns: new HttpReqDnsProvider({ endpoint: opts.endpoint }),
    state: new StateStore(new LocalDirectoryStore(opts.stateDir)),
  });
  // The constructor installs the ACME HTTP guard: its TLS context parses the public roots.
  const issuerSetupMs = performance.now() - t0;
  const { certificatePem } = await issuer.issue([opts.domain], 'rsa-2048');
  return { certificatePem, issuerSetupMs };
}

export interface IssueTrace {
  /** new AcmeIssuer(): reading the CA file and building the TLS trust context. */
  issuerSetupMs: number;
  /** From issue() to the first ACME request (account key, state write, any key work on the critical path). */
  preAcmeMs: number;
  acmeMs: number;
  postAcmeMs: number;
  httpRequests: number;
  nonceRequests: number;
}

/** Splits one issuance with acme-client's logger (process-wide: use only in a dedicated process). */
export async function tracedIssueOnce(opts: IssueOnceOptions): Promise<{ ms: number; trace: IssueTrace }> {
  const marks: Array<{ at: number; message: string }> = [];
  acme.setLogger((message: string) => marks.push({ at: performance.now(), message }));
  const t0 = performance.now();
  const { issuerSetupMs } = await issueOnce(opts);
  const end = performance.now();
  acme.setLogger(() => undefined);
  const requests = marks.filter((m) => m.message.startsWith('HTTP request:'));
  const first = requests[0]?.at ?? end;
  const last = marks.filter((m) => m.message.startsWith('RESP')).at(-1)?.at ?? end;
  return {
    ms: end - t0,
    trace: {
      issuerSetupMs,
      preAcmeMs: first - t0 - issuerSetupMs,
      acmeMs: last - first,
      postAcmeMs: end - last,
      httpRequests: requests.length,
      nonceRequests: requests.filter((m) => /^HTTP request: head /i.test(m.message)).length,
    },
  };
}

const entry = process.argv[1];
if (entry && pathToFileURL(entry).href === import.meta.url) {
  // performance.now() counts from process start: this is node start-up plus loading every module.
  const startupMs = performance.now();
  const trace = process.argv.includes('--trace');
  const [directoryUrl, caFile, endpoint, domain, stateDir] = process.argv
    .slice(2)
    .filter((a) => a !== '--trace');
  if (!directoryUrl || !caFile || !endpoint || !domain || !stateDir) {
    process.stderr.write(
      'usage: issue-once <directoryUrl> <caFile> <httpreqEndpoint> <domain> <stateDir> [--trace]\n',
    );
    process.exit(2);
  }
  const opts = { directoryUrl, caFile, endpoint, domain, stateDir };
  try {
    if (trace) {
      const { ms, trace: split } = await tracedIssueOnce(opts);
      process.stdout.write(`${JSON.stringify({ ok: true, startupMs, ms, trace: split })}\n`);
    } else {
      const t0 = performance.now();
      const { certificatePem } = await issueOnce(opts);
      const ok = certificatePem.includes('BEGIN CERTIFICATE');
      process.stdout.write(`${JSON.stringify({ ok, startupMs, ms: performance.now() - t0 })}\n`);
      process.exit(ok ? 0 : 1);
    }
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}
