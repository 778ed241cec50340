/**
 * One Lambda invocation as a cold start: a fresh Node 24 process (scripts/node24.mjs) runs the
 * function's bundle from its task root with exactly the environment it is given, reads the event
 * on stdin and answers on fd 3 (./runtime.mjs). Past the function's timeout the process is killed
 * and the invocation fails as Lambda's does.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUNTIME = fileURLToPath(new URL('./runtime.mjs', import.meta.url));
const NODE24_SCRIPT = fileURLToPath(new URL('../../../scripts/node24.mjs', import.meta.url));

let node24: string | undefined;

/** The Node 24 binary the functions run on (fetched once into node_modules/.cache/). */
export function node24Binary(): string {
  node24 ??= execFileSync(process.execPath, [NODE24_SCRIPT], { encoding: 'utf8' }).trim();
  return node24;
}

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type InvocationOutcome =
  | { ok: true; payload: unknown; logs: string }
  | { ok: false; error: LambdaError; logs: string };

export interface Invocation {
  /** The directory that stands for /var/task: the bundle and the deployed config beside it. */
  taskRoot: string;
  /** The template's Handler, e.g. `index.handler`. */
  handler: string;
  functionName: string;
  memoryMb: number;
  timeoutMs: number;
  /** The whole environment of the process: nothing is inherited. */
  environment: Record<string, string>;
  event: unknown;
  /** Kill the process once the handler has finished, before it answers (a crash after the work). */
  dieAfterHandler?: boolean;
}

export function invokeLambda(invocation: Invocation): Promise<InvocationOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      node24Binary(),
      [
        RUNTIME,
        invocation.taskRoot,
        invocation.handler,
        JSON.stringify({
          functionName: invocation.functionName,
          memoryLimitInMB: invocation.memoryMb,
          timeoutMs: invocation.timeoutMs,
        }),
        ...(invocation.dieAfterHandler ? ['--die-after-handler'] : []),
      ],
      { cwd: invocation.taskRoot, env: invocation.environment, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
    );
    let logs = '';
    let answer = '';
    let timedOut = false;
    child.stdout?.on('data', (c: Buffer) => {
      logs += c.toString('utf8');
    });
    child.stderr?.on('data', (c: Buffer) => {
      logs += c.toString('utf8');
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => {
      answer += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, invocation.timeoutMs);
    child.on('error', reject);
    child.stdin?.end(JSON.stringify(invocation.event ?? null));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${(invocation.timeoutMs / 1000).toFixed(2)} seconds`,
          },
          logs,
        });
        return;
      }
      const line = answer.trim();
      if (!line) {
        // The process ended without answering: Lambda never got a response.
        resolve({
          ok: false,
          error: {
            errorType: invocation.dieAfterHandler ? 'Lambda.Unknown' : 'Runtime.ExitError',
            errorMessage: invocation.dieAfterHandler
              ? 'Process exited before completing request'
              : `Runtime exited with error: ${signal ? `signal ${signal}` : `exit status ${code}`}`,
          },
          logs,
        });
        return;
      }
      const outcome = JSON.parse(line) as { ok: true; payload: unknown } | { ok: false; error: LambdaError };
      resolve({ ...outcome, logs });
    });
  });
}
