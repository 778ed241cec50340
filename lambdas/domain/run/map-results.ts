/**
 * What Step Functions' ResultWriter leaves in S3 after a Distributed Map: a manifest naming the
 * result files, each a JSON array with one record per child execution (its input, and its output
 * or its error). Parsed defensively: a record this version cannot read is a failure, never a crash.
 */
import type { ObjectStore } from '../ports';

/** The ResultWriterDetails a Distributed Map with a ResultWriter returns. */
export interface ResultWriterDetails {
  Bucket: string;
  Key: string;
}

export interface ChildExecution {
  status: 'SUCCEEDED' | 'FAILED' | 'PENDING';
  /** The child's input, parsed (a check shard's `{Items, BatchInput}`; a renewal's batch). */
  input: unknown;
  /** Its output, parsed, when it succeeded. */
  output?: unknown;
  /** Its error and cause, when it failed (or never ran). */
  error?: string;
  cause?: string;
}

interface ManifestFile {
  Key: string;
  Size?: number;
}

interface Manifest {
  DestinationBucket?: string;
  MapRunArn?: string;
  ResultFiles?: { FAILED?: ManifestFile[]; PENDING?: ManifestFile[]; SUCCEEDED?: ManifestFile[] };
}

interface ResultRecord {
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
  Status?: string;
}

const parse = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * Every child execution of one map run, read from its manifest; `onEach` sees them one file at a
 * time (a large fleet's results are read without holding all of them).
 */
export async function readMapResults(
  store: ObjectStore,
  manifestKey: string,
  onEach: (child: ChildExecution) => void | Promise<void>,
): Promise<{ succeeded: number; failed: number; pending: number }> {
  const text = await store.getText(manifestKey);
  if (text === null) throw new Error(`the map run's manifest ${manifestKey} is not in ${store.bucket}`);
  const manifest = JSON.parse(text) as Manifest;
  const counts = { succeeded: 0, failed: 0, pending: 0 };
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    for (const file of manifest.ResultFiles?.[status] ?? []) {
      const body = await store.getText(file.Key);
      if (body === null) throw new Error(`the map run's result file ${file.Key} is not in ${store.bucket}`);
      const records = JSON.parse(body) as ResultRecord[];
      for (const record of records) {
        const child: ChildExecution = {
          status,
          input: parse(record.Input),
          ...(status === 'SUCCEEDED'
            ? { output: parse(record.Output) }
            : {
                error: record.Error ?? (status === 'PENDING' ? 'NotRun' : 'States.Unknown'),
                ...(record.Cause !== undefined ? { cause: record.Cause } : {}),
              }),
        };
        counts[status === 'SUCCEEDED' ? 'succeeded' : status === 'FAILED' ? 'failed' : 'pending']++;
        await onEach(child);
      }
    }
  }
  return counts;
}
