// The Lambda Node.js runtime's part, for one invocation in a fresh process (a cold start), run by
// Node 24 with the function's environment and /var/task's stand-in as the working directory:
//   node runtime.mjs <task root> <handler, e.g. index.handler> <context JSON> [--die-after-handler]
// (context: functionName, memoryLimitInMB, timeoutMs)
// The event comes on stdin; the outcome goes to fd 3 as one JSON line, shaped as Lambda's:
//   {"ok":true,"payload":<result>}  or  {"ok":false,"error":{"errorType","errorMessage","trace"}}
// (errorType is the error's name, as the runtime interface client reports it). With
// --die-after-handler the process is killed once the handler has finished, before answering: the
// work is done but Lambda never hears back.
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [taskRoot, handlerName, contextJson, flag] = process.argv.slice(2);
const { functionName, memoryLimitInMB, timeoutMs } = JSON.parse(contextJson);
const [moduleName, exportName] = handlerName.split('.');

function answer(outcome) {
  writeSync(3, `${JSON.stringify(outcome)}\n`);
}

function asLambdaError(error) {
  if (
    error instanceof Error ||
    (error && typeof error === 'object' && 'name' in error && 'message' in error)
  ) {
    return {
      errorType: String(error.name),
      errorMessage: String(error.message),
      trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

const file = ['.mjs', '.js', '.cjs'].map((ext) => join(taskRoot, `${moduleName}${ext}`)).find(existsSync);
const event = JSON.parse(readFileSync(0, 'utf8') || 'null');
const started = Date.now();
const context = {
  awsRequestId: crypto.randomUUID(),
  functionName,
  functionVersion: '$LATEST',
  memoryLimitInMB: String(memoryLimitInMB),
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
};

let outcome;
try {
  const module = await import(pathToFileURL(file).href);
  const handler = module[exportName];
  if (typeof handler !== 'function')
    throw Object.assign(new Error(`${handlerName} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  outcome = { ok: true, payload: (await handler(event, context)) ?? null };
} catch (error) {
  outcome = { ok: false, error: asLambdaError(error) };
}
if (flag === '--die-after-handler') process.kill(process.pid, 'SIGKILL');
answer(outcome);
// Lambda freezes the environment once answered; this one is never reused.
process.exit(0);
