/**
 * The exec DNS-01 provider, lego's contract: `<command...> present <fqdn> <value>` to publish and
 * `<command...> cleanup <fqdn> <value>` to remove (fqdn with its trailing dot). The program runs
 * directly, never through a shell, in its own process group (so a timeout ends whatever it
 * started), with this process's environment (its own credentials). What it prints stays out of
 * reports and alerts unless it fails; then its last lines are in the error, control characters
 * escaped. CLI only: the Lambdas have no hook to run, and synth refuses the provider.
 */
import { spawn } from 'node:child_process';
import { DnsHookError } from '../../domain/errors';
import type { DnsProvider } from '../../domain/ports';

export interface ExecOptions {
  command: readonly string[];
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/** What is kept of the hook's output: its end, where errors are. */
const OUTPUT_TAIL = 2_048;
const KILL_GRACE_MS = 2_000;

export class ExecDnsProvider implements DnsProvider {
  constructor(private readonly options: ExecOptions) {}

  present(fqdn: string, value: string): Promise<void> {
    return this.run('present', fqdn, value);
  }

  cleanup(fqdn: string, value: string): Promise<void> {
    return this.run('cleanup', fqdn, value);
  }

  private run(op: 'present' | 'cleanup', fqdn: string, value: string): Promise<void> {
    const [program, ...args] = this.options.command as [string, ...string[]];
    const shown = `${program} ${op} ${fqdn}`;
    return new Promise((resolve, reject) => {
      let output = '';
      let timedOut = false;
      let settled = false;
      const child = spawn(program, [...args, op, fqdn, value], {
        shell: false,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: this.options.env ?? process.env,
      });
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
      }, this.options.timeoutMs);
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const tail = printable(output);
        reject(
          new DnsHookError(`${message}${tail ? `; its output ended with: ${tail}` : ''}`, {
            hint: `run \`${program} ${op} <fqdn> <value>\` by hand to see why; it must exit 0 once the record is ${op === 'present' ? 'published' : 'removed'}`,
          }),
        );
      };
      child.on('error', (error) => fail(`the DNS hook ${program} could not start: ${error.message}`));
      child.on('close', (code, signal) => {
        if (settled) return;
        if (timedOut)
          return fail(`the DNS hook ${shown} did not finish within ${this.options.timeoutMs / 1000} s`);
        if (code === 0) {
          settled = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        fail(`the DNS hook ${shown} ${signal ? `was killed by ${signal}` : `exited with ${code}`}`);
      });
    });
  }
}

/** The output as one line of printable text: control characters escaped, whitespace runs collapsed. */
function printable(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\p{Cc}|\p{Cf}/gu, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`)
    .trim();
}
