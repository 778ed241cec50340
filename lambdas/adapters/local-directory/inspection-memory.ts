/**
 * The check's inspection memory (domain/certificate.ts) kept in the CLI's stateDir between runs, as
 * `inspection-memory.json` (0600, written atomically like every state file). A new process starts
 * from it and parses only the certificates and keys that changed since the last run.
 */
import { exportInspectionMemory, importInspectionMemory } from '../../domain/certificate';
import { LocalDirectoryStore } from './secret-store';

const KEY = 'inspection-memory';

/** The text last loaded or saved per directory: an unchanged memory is not written again. */
const lastText = new Map<string, string>();

/**
 * Loads the last run's memory; a missing or unreadable file only means parsing everything again.
 * A file that is there but cannot be used (not a regular file, unreadable, not JSON) is said through
 * `warn`; the next save replaces it.
 */
export async function loadInspectionMemory(
  stateDir: string,
  warn: (line: string) => void = () => undefined,
): Promise<number> {
  let text: string | null;
  try {
    text = await new LocalDirectoryStore(stateDir).read(KEY);
  } catch (error) {
    warn(
      `warning: the inspection memory was not loaded (${(error as Error).message}); this run parses every certificate`,
    );
    return 0;
  }
  if (text === null) return 0;
  try {
    const count = importInspectionMemory(JSON.parse(text));
    lastText.set(stateDir, text);
    return count;
  } catch {
    warn(
      `warning: the inspection memory in ${stateDir} is not one this version wrote (not JSON); this run parses every certificate`,
    );
    return 0;
  }
}

/**
 * Saves what this run used, unless the fleet's certificates are the ones already saved. Throws
 * StateStoreError when the directory cannot be written.
 */
export async function saveInspectionMemory(stateDir: string): Promise<void> {
  const text = JSON.stringify(exportInspectionMemory());
  if (lastText.get(stateDir) === text) return;
  await new LocalDirectoryStore(stateDir).write(KEY, text);
  lastText.set(stateDir, text);
}
