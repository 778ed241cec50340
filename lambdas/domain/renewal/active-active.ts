/**
 * The Active-Active follow-up. After the proxy or syncer certificate of a participating cluster
 * changes, each Active-Active database must be force-updated (`crdb-cli crdb update --crdb-guid
 * <guid> --force`, REST: POST /v1/crdbs/{guid}/updates {"force_update": true}), one at a time with
 * no other update in between; until then peers reject the old certificate and sync stops.
 *
 * `activeActive: "alert"` (the default) lists the databases and hands the operator the commands;
 * `"update"` runs them one at a time, polling each task to its end. Progress is written to the
 * push record after every change, so a retried step polls the task it started instead of starting a
 * second update of the same database.
 */
import { ActiveActiveUpdateError, type ErrorInfo } from '../errors';
import type { ActiveActiveDatabase, Alert } from '../ports';
import { backoffDelayMs, CRDB_TASK_POLL } from '../retry';
import type { RsClient, RsCrdbTask } from '../rs/client';
import type { PushRecord } from '../state';
import { clusterByName, type RenewalContext } from './context';

/** The certificates whose change Active-Active peers notice. */
export const ACTIVE_ACTIVE_CERTIFICATES: ReadonlySet<string> = new Set(['proxy', 'syncer']);

/**
 * A CRDB GUID as RS makes them: a UUID, 8-4-4-4-12 hexadecimal digits. Only such a value is ever put
 * in a command or a request path; anything else the cluster returns is a finding (see below).
 */
const CRDB_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isCrdbGuid(value: string): boolean {
  return CRDB_GUID.test(value);
}

/** The by-hand command for one database. Throws for anything but a GUID: nothing else is ever interpolated. */
export function crdbUpdateCommand(guid: string): string {
  if (!isCrdbGuid(guid))
    throw new ActiveActiveUpdateError(
      'refusing to build a crdb-cli command around a value that is not a GUID',
    );
  return `crdb-cli crdb update --crdb-guid ${guid} --force`;
}

/** How a value the cluster returned as a GUID is shown when it is not one: quoted, escaped, at most 64 characters. */
function shownValue(value: string): string {
  const chars = [...value];
  return JSON.stringify(chars.length > 64 ? `${chars.slice(0, 64).join('')}…` : value);
}

const TERMINAL = new Set(['finished', 'failed']);

/**
 * Runs the follow-up for a push of `certificates` (already verified) and returns the one alert it
 * calls for, or null when the cluster has no Active-Active database or no such certificate changed.
 */
export async function followUpActiveActive(
  ctx: RenewalContext,
  client: RsClient,
  input: { cluster: string; certificates: readonly string[]; pushId: string | undefined },
): Promise<Extract<Alert, { kind: 'active-active' }> | null> {
  const certificates = input.certificates.filter((c) => ACTIVE_ACTIVE_CERTIFICATES.has(c));
  if (certificates.length === 0) return null;
  const cluster = clusterByName(ctx.config, input.cluster);
  const crdbs = await client.listCrdbs();
  if (crdbs.length === 0) return null;
  const base = { kind: 'active-active' as const, cluster: input.cluster, certificates };
  // A "GUID" that is not one (`x; curl … | sh`) is a finding: shown quoted, never in a command or a
  // request, and the follow-up did not do what it is for, so it needs a person (mode `failed`).
  const refused: ActiveActiveDatabase[] = crdbs
    .filter((c) => !isCrdbGuid(c.guid))
    .map((c) => ({
      guid: shownValue(c.guid),
      name: c.name,
      status: 'refused',
      error:
        'GET /v1/crdbs returned this as the GUID of an Active-Active database, and it is not GUID-shaped (8-4-4-4-12 hexadecimal digits): ' +
        'it was used in no command and no request; find the database with `crdb-cli crdb list` and update it by hand',
    }));
  const listed = crdbs
    .filter((c) => isCrdbGuid(c.guid))
    .map((c) => ({ guid: c.guid, name: c.name, command: crdbUpdateCommand(c.guid) }));
  if (cluster.activeActive !== 'update')
    return { ...base, mode: refused.length ? 'failed' : 'alert', databases: [...listed, ...refused] };

  const record = input.pushId ? await ctx.state.push(input.cluster, input.pushId) : null;
  const progress: NonNullable<PushRecord['activeActive']> = { ...(record?.activeActive ?? {}) };
  const save = async () => {
    if (record) await ctx.state.savePush({ ...record, activeActive: progress });
  };
  const databases: ActiveActiveDatabase[] = [];
  const deadline = ctx.now().getTime() + CRDB_TASK_POLL.stepBudgetMs;
  for (const db of listed) {
    const before = progress[db.guid];
    if (ctx.now().getTime() >= deadline) {
      databases.push({
        ...db,
        status: 'not started',
        error: 'the step ran out of time before this database',
      });
      continue;
    }
    if (before?.status === 'finished') {
      databases.push({ ...db, taskId: before.taskId, status: 'finished' });
      continue;
    }
    let task: RsCrdbTask;
    try {
      // A task this push started and a retried step finds still running is polled, never restarted.
      task =
        before && !TERMINAL.has(before.status)
          ? await client.getCrdbTask(before.taskId)
          : await client.forceUpdateCrdb(db.guid);
    } catch (error) {
      if (!(error instanceof ActiveActiveUpdateError)) throw error;
      databases.push({ ...db, status: 'not started', error: error.message });
      continue;
    }
    progress[db.guid] = { taskId: task.id, status: task.status };
    await save();
    task = await pollToEnd(ctx, client, task, deadline);
    progress[db.guid] = {
      taskId: task.id,
      status: task.status,
      ...(task.errors.length ? { errors: task.errors } : {}),
    };
    await save();
    databases.push({
      ...db,
      taskId: task.id,
      status: task.status,
      ...(task.status === 'finished'
        ? {}
        : {
            error: TERMINAL.has(task.status)
              ? task.errors.join('; ') || 'the task failed without a description'
              : `task still ${task.status} when the step's ${CRDB_TASK_POLL.stepBudgetMs / 60_000} minutes ran out; not started again`,
          }),
    });
  }
  databases.push(...refused);
  const failed = databases.some((d) => d.status !== 'finished');
  return { ...base, mode: failed ? 'failed' : 'updated', databases };
}

async function pollToEnd(
  ctx: RenewalContext,
  client: RsClient,
  task: RsCrdbTask,
  deadline: number,
): Promise<RsCrdbTask> {
  let current = task;
  for (let poll = 1; !TERMINAL.has(current.status); poll++) {
    if (poll > 1) {
      if (ctx.now().getTime() >= deadline) return current;
      await ctx.sleep(
        backoffDelayMs({ baseMs: 250, rate: 2, maxMs: CRDB_TASK_POLL.intervalMs }, poll - 1, false),
      );
    }
    current = await client.getCrdbTask(task.id);
  }
  return current;
}

/** The alert when the follow-up itself failed (after its Retry): the operator runs the commands. */
export function activeActiveFailedAlert(
  cluster: string,
  certificates: readonly string[],
  error: ErrorInfo,
): Extract<Alert, { kind: 'active-active' }> {
  return {
    kind: 'active-active',
    cluster,
    certificates: certificates.filter((c) => ACTIVE_ACTIVE_CERTIFICATES.has(c)),
    mode: 'failed',
    databases: [],
    error,
  };
}
