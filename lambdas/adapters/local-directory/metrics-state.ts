/**
 * What the metrics keep between runs (domain/metrics.ts MetricsState), in the CLI's stateDir as
 * `metrics-state.json` (0600, written atomically like every state file): the `_total` counters, each
 * command's last run and success, and each cluster's last known certificates.
 */
import { EMPTY_METRICS_STATE, type MetricsState, parseMetricsState } from '../../domain/metrics';
import { StateFiles } from './files';

const FILE = 'metrics-state.json';

/** The kept state; a missing, unreadable or foreign file starts again from nothing (counters reset). */
export async function loadMetricsState(stateDir: string): Promise<MetricsState> {
  try {
    return parseMetricsState(await new StateFiles(stateDir).read(FILE));
  } catch {
    return EMPTY_METRICS_STATE;
  }
}

/** Throws StateStoreError when the directory cannot be written. */
export async function saveMetricsState(stateDir: string, state: MetricsState): Promise<void> {
  await new StateFiles(stateDir).write(FILE, JSON.stringify(state));
}
