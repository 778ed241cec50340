/**
 * Plays a Distributed Map where aws-local-stepfunctions cannot: it runs inline Maps, Retry and
 * Catch, but not a Distributed Map's ItemReader, ItemBatcher and ResultWriter, nor its child
 * executions. `withDistributedMaps` rewrites each Distributed Map state of a definition into a Task
 * of the same name (same ResultPath, Retry, Catch and Next) whose local handler does what Step
 * Functions does:
 *
 *   ItemReader    reads the JSON array object (Bucket, Key; `.$` paths on the state input) from S3
 *   ItemSelector  builds each item's input ($$.Map.Item.Value.*, $$.Map.Item.Index, $$.Execution.Id, $.*)
 *   ItemBatcher   cuts the items into batches of MaxItemsPerBatch, each `{Items, BatchInput}`
 *   children      one child execution per item or batch, MaxConcurrency at once, each a run of the
 *                 ItemProcessor's definition by `runChild` (its own execution and event history)
 *   Tolerated…    fails the state with States.ExceedToleratedFailureThreshold above the percentage
 *   ResultWriter  writes SUCCEEDED_0.json / FAILED_0.json and manifest.json under
 *                 <Prefix>/<map run id>/ and answers `{MapRunArn, ResultWriterDetails: {Bucket, Key}}`
 *
 * The S3 reads and writes are the state machine role's: `s3` authorizes them against its policies.
 */
import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { AslState, AslStateMachine } from './synthesized-definition';

export interface MapS3 {
  /** Reads an object as the state machine's role (throws when its policies deny it or it is missing). */
  read(bucket: string, key: string): string | Promise<string>;
  /** Writes an object as the state machine's role. */
  write(bucket: string, key: string, body: string): void | Promise<void>;
}

/** One entry of an execution's event log (the library does not export the type). */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/**
 * Runs one execution of a definition to its end with local task handlers (aws-local-stepfunctions),
 * handing each event to `onEvent`; answers as a child execution's record does.
 */
export async function runLocalExecution(
  definition: AslStateMachine,
  input: unknown,
  options: {
    executionId: string;
    handlers: Record<string, (input: unknown) => Promise<unknown>>;
    retryIntervalOverrides?: Record<string, number>;
    onEvent?: (event: EventLog) => void;
  },
): Promise<ChildRun & { events: number }> {
  // A Task without a local handler would make the engine call AWS Lambda: never from a test.
  const missing = Object.entries(definition.States)
    .filter(([name, state]) => state.Type === 'Task' && !(name in options.handlers))
    .map(([name]) => name);
  if (missing.length > 0) throw new Error(`no local handler for the task state(s) ${missing.join(', ')}`);
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkPaths: true, checkArn: false },
  });
  const execution = machine.run(input as never, {
    // The context object Step Functions gives every execution: the renewals map names the execution
    // as the holder of its certificates' locks.
    context: { Execution: { Id: options.executionId, Name: options.executionId.split(':').pop() } } as never,
    overrides: {
      taskResourceLocalHandlers: options.handlers as never,
      ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
    },
  });
  let events = 0;
  const logged = (async () => {
    for await (const event of execution.eventLogs) {
      events++;
      options.onEvent?.(event);
    }
  })();
  try {
    const output = await execution.result;
    return { status: 'SUCCEEDED', output, events };
  } catch (error) {
    const e = error as Error;
    return { status: 'FAILED', error: e.name, cause: e.message, events };
  } finally {
    await logged.catch(() => undefined);
  }
}

export interface ChildRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
}

export interface MapRunRecord {
  state: string;
  mapRunArn: string;
  items: number;
  children: number;
  failed: number;
  /** The largest child input (bytes of its JSON): each is a state input, at most 256 KiB on AWS. */
  largestChildInput: number;
}

export interface DistributedMapOptions {
  s3: MapS3;
  /** Runs one child execution of `definition` with `input`; `name` is the child's execution name. */
  runChild(state: string, definition: AslStateMachine, input: unknown, name: string): Promise<ChildRun>;
  /** Every map run played, for assertions on what ran. */
  mapRuns?: MapRunRecord[];
}

interface Played {
  definition: AslStateMachine;
  handlers: Record<string, (input: unknown) => Promise<unknown>>;
}

const isDistributed = (state: AslState) =>
  state.Type === 'Map' &&
  (state.ItemProcessor?.ProcessorConfig as { Mode?: string } | undefined)?.Mode === 'DISTRIBUTED';

/** The definition with every Distributed Map (at the top level) played by a local Task handler. */
export function withDistributedMaps(definition: AslStateMachine, options: DistributedMapOptions): Played {
  const handlers: Played['handlers'] = {};
  const States: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isDistributed(state)) {
      States[name] = state;
      continue;
    }
    const { ResultPath, Retry, Catch, Next, End } = state;
    States[name] = {
      Type: 'Task',
      Resource: `arn:aws:states:::distributed-map:${name}`,
      // The handler needs the state input and the execution's id, as the Map state has them.
      Parameters: { 'state.$': '$', 'execution.$': '$$.Execution.Id' },
      // A Map state has no timeout of its own; the engine would give a Task 60 s (and a timer holds
      // at most 24.8 days: a year would overflow into 1 ms).
      TimeoutSeconds: 1_000_000,
      ...(ResultPath !== undefined ? { ResultPath } : {}),
      ...(Retry ? { Retry } : {}),
      ...(Catch ? { Catch } : {}),
      ...(Next ? { Next } : {}),
      ...(End ? { End } : {}),
    };
    handlers[name] = (input) => playMap(name, state, input as { state: unknown; execution: string }, options);
  }
  return { definition: { ...definition, States }, handlers };
}

async function playMap(
  name: string,
  map: AslState,
  { state, execution }: { state: unknown; execution: string },
  options: DistributedMapOptions,
): Promise<unknown> {
  const mapRunArn = `${execution.replace(':execution:', ':mapRun:')}/${name}:${randomUUID()}`;
  const context = { Execution: { Id: execution } };

  // ItemReader: a JSON array in S3.
  const reader = map.ItemReader as {
    Resource: string;
    ReaderConfig?: { InputType?: string };
    Parameters: Record<string, unknown>;
  };
  if (reader.ReaderConfig?.InputType !== 'JSON') throw new Error(`${name}: only JSON ItemReaders are played`);
  const where = evaluate(reader.Parameters, { input: state, context }) as { Bucket: string; Key: string };
  const items = JSON.parse(await options.s3.read(where.Bucket, where.Key)) as unknown[];
  if (!Array.isArray(items))
    throw Object.assign(new Error(`${where.Key} is not a JSON array`), { name: 'States.ItemReaderFailed' });

  // ItemSelector per item, then ItemBatcher.
  const selector = map.ItemSelector as Record<string, unknown> | undefined;
  const selected = items.map((value, index) =>
    selector
      ? evaluate(selector, {
          input: state,
          context: { ...context, Map: { Item: { Value: value, Index: index } } },
        })
      : value,
  );
  const batcher = map.ItemBatcher as
    | { MaxItemsPerBatch?: number; BatchInput?: Record<string, unknown> }
    | undefined;
  let inputs: unknown[] = selected;
  if (batcher) {
    const size = batcher.MaxItemsPerBatch ?? selected.length;
    const batchInput = batcher.BatchInput
      ? evaluate(batcher.BatchInput, { input: state, context })
      : undefined;
    inputs = [];
    for (let i = 0; i < selected.length; i += size)
      inputs.push({
        Items: selected.slice(i, i + size),
        ...(batchInput !== undefined ? { BatchInput: batchInput } : {}),
      });
  }

  // The children, MaxConcurrency at once.
  const processor = map.ItemProcessor as AslStateMachine;
  const child: AslStateMachine = { StartAt: processor.StartAt, States: processor.States };
  const limit = map.MaxConcurrency && map.MaxConcurrency > 0 ? map.MaxConcurrency : Number.POSITIVE_INFINITY;
  const runs: Array<ChildRun & { input: unknown; name: string }> = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const i = next++;
      const childName = `${randomUUID()}`;
      const run = await options.runChild(name, child, inputs[i], childName);
      runs[i] = { ...run, input: inputs[i], name: childName };
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(inputs.length, 1)) }, worker));

  const failed = runs.filter((r) => r.status === 'FAILED');
  options.mapRuns?.push({
    state: name,
    mapRunArn,
    items: items.length,
    children: runs.length,
    failed: failed.length,
    largestChildInput: Math.max(0, ...inputs.map((i) => Buffer.byteLength(JSON.stringify(i)))),
  });

  // ResultWriter.
  const writer = map.ResultWriter as { Parameters?: { Bucket?: string; Prefix?: string } } | undefined;
  let output: unknown = runs.map((r) => r.output);
  if (writer?.Parameters?.Bucket) {
    const bucket = writer.Parameters.Bucket;
    const base = `${writer.Parameters.Prefix ? `${writer.Parameters.Prefix}/` : ''}${mapRunArn.split(':').pop()?.replace(/\//g, '-')}`;
    const record = (r: (typeof runs)[number]) => ({
      ExecutionArn: `${mapRunArn}/${r.name}`,
      Input: JSON.stringify(r.input),
      InputDetails: { Included: true },
      Name: r.name,
      ...(r.status === 'SUCCEEDED'
        ? { Output: JSON.stringify(r.output ?? null), OutputDetails: { Included: true } }
        : { Error: r.error, Cause: r.cause }),
      Status: r.status,
    });
    const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>> = {
      SUCCEEDED: [],
      FAILED: [],
      PENDING: [],
    };
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      const these = runs.filter((r) => r.status === status);
      if (these.length === 0) continue;
      const key = `${base}/${status}_0.json`;
      const body = JSON.stringify(these.map(record));
      await options.s3.write(bucket, key, body);
      files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    }
    const manifestKey = `${base}/manifest.json`;
    await options.s3.write(
      bucket,
      manifestKey,
      JSON.stringify({ DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: files }),
    );
    output = { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
  }

  const tolerated = (map.ToleratedFailurePercentage as number | undefined) ?? 0;
  if (runs.length > 0 && (failed.length / runs.length) * 100 > tolerated)
    throw Object.assign(
      new Error(`${failed.length} of ${runs.length} child executions failed (tolerated: ${tolerated}%)`),
      { name: 'States.ExceedToleratedFailureThreshold' },
    );
  return output;
}

/** Evaluates a Parameters-style template: keys ending in `.$` take a path's value (`$.a.b`, `$$.X.Y`, `$`). */
function evaluate(template: unknown, scope: { input: unknown; context: unknown }): unknown {
  if (Array.isArray(template)) return template.map((t) => evaluate(t, scope));
  if (typeof template !== 'object' || template === null) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = path(String(value), scope);
    else out[key] = evaluate(value, scope);
  }
  return out;
}

function path(expression: string, scope: { input: unknown; context: unknown }): unknown {
  const [root, rest] = expression.startsWith('$$')
    ? [scope.context, expression.slice(2)]
    : expression.startsWith('$')
      ? [scope.input, expression.slice(1)]
      : [undefined, expression];
  if (root === undefined && !expression.startsWith('$')) throw new Error(`not a path: ${expression}`);
  let value: unknown = root;
  for (const part of rest.split('.').filter(Boolean)) {
    if (!/^[A-Za-z0-9_]+$/.test(part)) throw new Error(`only dotted paths are played: ${expression}`);
    if (typeof value !== 'object' || value === null || !(part in value))
      throw Object.assign(new Error(`The JSONPath '${expression}' could not be found in the input`), {
        name: 'States.Runtime',
      });
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
