/**
 * The check's inspection memory (domain/certificate.ts) kept in the CLI's stateDir between runs, as
 * `inspection-memory.json` (0600, written atomically like every state file). A new process starts
 * from it and parses only the certificates and keys that changed since the last run.
 */
import { exportInspectionMemory, importInspectionMemory } from '../../domain/certificate';
import { LocalDirectoryStore } from './secret-store';

const KEY = 'inspection-memory';

/** Loads the last run's memory; a missing or unreadable file only means parsing everything again. */
export async function loadInspectionMemory(stateDir: string): Promise<number> {
  try {
    const text = await new LocalDirectoryStore(stateDir).read(KEY);
    return text === null ? 0 : importInspectionMemory(JSON.parse(text));
  } catch {
    return 0;
  }
}

/** Saves what this run used. Throws StateStoreError when the directory cannot be written. */
export async function saveInspectionMemory(stateDir: string): Promise<void> {
  await new LocalDirectoryStore(stateDir).write(KEY, JSON.stringify(exportInspectionMemory()));
}
