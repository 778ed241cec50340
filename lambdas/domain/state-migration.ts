/**
 * The move from the state of version 0.1 (one Secrets Manager secret per entry) into the
 * current stores, run once by the first execution after the upgrade (the MigrateState task, before
 * Check) and a no-op afterwards.
 *
 * What moves, for the configured ACME directory and every managed certificate of every configured
 * cluster: the ACME account and its key; each certificate's `current` and `previous` entries with
 * their keys (the saved certificate a resumed renewal pushes, the one a rollback puts back); the
 * pending-verification markers (a push that crashed before its verification is resumed). Locks and
 * push records do not move: they belong to runs that are over.
 *
 * Idempotent: every entry is written only where the new store has none (a newer entry is never
 * replaced), keys are content-addressed, and progress is saved per cluster, so a run that stops
 * (its time ran out, an error) resumes where it stopped. Only once everything is moved does the
 * migration record itself done; the README says how to delete the old secrets then.
 */

import { createHash } from 'node:crypto';
import { mapWithConcurrency } from './concurrency';
import type { WatchdogConfig } from './config/types';
import { StateMigrationIncompleteError, StateStoreError } from './errors';
import type { LegacyStateReader } from './ports';
import type { AcmeAccountState, PendingVerification, StateStore, StoredCertificate } from './state';

export interface MigrationProgress {
  done: boolean;
  /** Index of the first cluster (config order) not moved yet. */
  nextCluster: number;
  moved: { accounts: number; certificates: number; pending: number };
  startedAt: string;
  finishedAt?: string;
}

export interface MigrationOptions {
  config: Pick<WatchdogConfig, 'acme' | 'clusters'>;
  legacy: LegacyStateReader;
  state: StateStore;
  now: () => Date;
  /** Stop (progress saved) once this returns true; checked between clusters. */
  outOfTime?: () => boolean;
  /** Clusters moved side by side (three secrets read at once each). Secrets Manager allows 10,000 GetSecretValue a second. */
  concurrency?: number;
}

const MARKER = { partition: 'migration', sort: 'secrets-manager' } as const;
/** Clusters moved between two saves of the progress. */
const CHUNK = 50;
const segment = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

/** The progress record, or null before the first migration run. */
export async function migrationProgress(state: StateStore): Promise<MigrationProgress | null> {
  return state.records.get<MigrationProgress>(MARKER);
}

/**
 * Moves what is left to move. Returns the progress when done; throws
 * StateMigrationIncompleteError (progress saved) when it ran out of time first.
 */
export async function migrateLegacyState(options: MigrationOptions): Promise<MigrationProgress> {
  const { config, legacy, state } = options;
  const saved = await migrationProgress(state);
  if (saved?.done) return saved;
  const progress: MigrationProgress = saved ?? {
    done: false,
    nextCluster: 0,
    moved: { accounts: 0, certificates: 0, pending: 0 },
    startedAt: options.now().toISOString(),
  };

  if (progress.nextCluster === 0 && config.acme) {
    const url = config.acme.directoryUrl;
    const account = parse<AcmeAccountState>(
      await legacy.read(`acme/account-${createHash('sha256').update(url).digest('hex').slice(0, 16)}`),
      'the ACME account',
    );
    if (account && (await state.createAccount(account))) progress.moved.accounts++;
  }

  const clusters = config.clusters;
  while (progress.nextCluster < clusters.length) {
    if (options.outOfTime?.()) {
      await state.records.put(MARKER, progress);
      throw new StateMigrationIncompleteError(
        `moved the state of ${progress.nextCluster} of ${clusters.length} clusters from Secrets Manager; the rest follows`,
        { hint: 'the MigrateState task runs again from where it stopped' },
      );
    }
    // A chunk of clusters side by side, then the progress saved: a stop loses little work.
    const chunk = clusters.slice(progress.nextCluster, progress.nextCluster + CHUNK);
    const moved = await mapWithConcurrency(chunk, options.concurrency ?? 16, async (cluster) => {
      const total = { certificates: 0, pending: 0 };
      for (const name of Object.keys(cluster.certificates ?? {})) {
        const m = await moveCertificate(legacy, state, cluster.name, name);
        total.certificates += m.certificates;
        total.pending += m.pending;
      }
      return total;
    });
    for (const m of moved) {
      progress.moved.certificates += m.certificates;
      progress.moved.pending += m.pending;
    }
    progress.nextCluster += chunk.length;
    await state.records.put(MARKER, progress);
  }
  const done: MigrationProgress = { ...progress, done: true, finishedAt: options.now().toISOString() };
  await state.records.put(MARKER, done);
  return done;
}

async function moveCertificate(
  legacy: LegacyStateReader,
  state: StateStore,
  cluster: string,
  name: string,
): Promise<{ certificates: number; pending: number }> {
  const base = `${segment(cluster)}/${segment(name)}`;
  const [current, previous, pending] = await Promise.all([
    legacy.read(`certificates/${base}/current`),
    legacy.read(`certificates/${base}/previous`),
    legacy.read(`pending/${base}`),
  ]);
  let certificates = 0;
  for (const [slot, text] of [
    ['current', current],
    ['previous', previous],
  ] as const) {
    const certificate = parse<StoredCertificate>(text, `${cluster}/${name} (${slot})`);
    if (certificate && (await state.importCertificate(certificate, slot))) certificates++;
  }
  const marker = parse<PendingVerification | { cleared: true }>(pending, `${cluster}/${name} (pending)`);
  const live = marker && 'fingerprint256' in marker ? marker : null;
  return { certificates, pending: live && (await state.importPending(cluster, name, live)) ? 1 : 0 };
}

function parse<T>(text: string | null, what: string): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new StateStoreError(`the earlier state secret of ${what} is corrupt (not JSON)`, {
      hint: 'restore the secret from its previous version (AWSPREVIOUS) or delete it, then run again',
    });
  }
}
