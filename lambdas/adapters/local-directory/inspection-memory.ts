/**
 * The check's inspection memory (domain/certificate.ts) kept in the CLI's stateDir between runs, as
 * `inspection-memory.json` (0600, written atomically like every state file). A new process starts
 * from it and parses only the certificates and keys that changed since the last run.
 */
import { exportInspectionMemory, importInspectionMemory } from '../../domain/certificate';
import { StateFiles } from './files';

const FILE = 'inspection-memory.json';

/** The text last loaded or saved per directory: an unchanged memory is not written again. */
const lastText = new Map<string, string>();

/** Loads the last run's memory; a missing or unreadable file only means parsing everything again. */
export async function loadInspectionMemory(stateDir: string): Promise<number> {
  try {
    const text = await new StateFiles(stateDir).read(FILE);
    if (text === null) return 0;
    lastText.set(stateDir, text);
    return importInspectionMemory(JSON.parse(text));
  } catch {
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
  await new StateFiles(stateDir).write(FILE, text);
  lastText.set(stateDir, text);
}
