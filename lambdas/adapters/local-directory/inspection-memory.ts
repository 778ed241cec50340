/**
 * The check's inspection memory (domain/certificate.ts) kept in the CLI's stateDir between runs, as
 * `inspection-memory.json` (0600, written atomically like every state file). A new process starts
 * from it and parses only the certificates and keys that changed since the last run.
 */
import {
  exportedInspectionMemoryMark,
  exportInspectionMemory,
  type InspectionMemoryMark,
  importInspectionMemory,
  inspectionMemoryUnchanged,
  loadedInspectionMemoryMark,
} from '../../domain/certificate';
import { StateFiles } from './files';

const FILE = 'inspection-memory.json';

/**
 * Per directory, the memory last loaded or saved: its text, and its mark. A run that used exactly
 * what the file holds and parsed nothing new neither exports it nor compares texts; any other run
 * exports it, and writes the file only when the text changed.
 */
const last = new Map<string, { text: string; mark: InspectionMemoryMark }>();

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
    text = await new StateFiles(stateDir).read(FILE);
  } catch (error) {
    warn(
      `warning: the inspection memory was not loaded (${(error as Error).message}); this run parses every certificate`,
    );
    return 0;
  }
  if (text === null) return 0;
  try {
    const memory: unknown = JSON.parse(text);
    const count = importInspectionMemory(memory);
    last.set(stateDir, { text, mark: loadedInspectionMemoryMark([memory]) });
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
  const known = last.get(stateDir);
  if (inspectionMemoryUnchanged(known?.mark)) return;
  const mark = exportedInspectionMemoryMark();
  const text = JSON.stringify(exportInspectionMemory());
  if (known?.text !== text) await new StateFiles(stateDir).write(FILE, text);
  last.set(stateDir, { text, mark });
}
