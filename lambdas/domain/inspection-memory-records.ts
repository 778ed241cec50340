/**
 * The check's inspection memory (certificate.ts: digests, results and public details, never a key)
 * kept in the records between runs, so a cold check function parses only what changed since the
 * last run, as the CLI does with its `inspection-memory.json`. At 256 MB a Lambda has a seventh of
 * a vCPU: parsing every chain and key of 5,000 clusters again would take most of its timeout.
 *
 * A DynamoDB item holds at most 400 KB and the memory of a large fleet is megabytes, so it is split
 * into shards (`inspection-memory` + `shard-<n>`) by a hash of each entry's digest: the same entry
 * always lands in the same shard, so a day's changes rewrite only the shards they touch. Shards
 * are self-contained: loading a mix of two runs' shards is harmless (entries are content-addressed).
 */
import {
  exportedInspectionMemoryMark,
  exportInspectionMemory,
  type InspectionMemory,
  type InspectionMemoryMark,
  importInspectionMemory,
  inspectionContentGeneration,
  inspectionMemoryUnchanged,
  loadedInspectionMemoryMark,
  restartInspectionUse,
} from './certificate';
import type { RecordStore } from './ports';

export interface InspectionMemoryStore {
  /** Loads the last run's memory; returns the entries taken. An unreadable memory is only work to redo. */
  load(): Promise<number>;
  /** Saves what this run used: only the shards whose content changed. */
  save(): Promise<void>;
}

const PARTITION = 'inspection-memory';
/** Aimed at per shard; a shard that comes out over MAX_SHARD_BYTES doubles the count. */
const TARGET_SHARD_BYTES = 160 * 1024;
const MAX_SHARD_BYTES = 350 * 1024;

const shardName = (i: number) => `shard-${String(i).padStart(4, '0')}`;
/**
 * A check shard's memory outlives a change of the fleet's sharding by this long, then DynamoDB's TTL
 * removes it. An unchanged memory is not rewritten, so it may also lapse while in use: the next run
 * then parses that shard's certificates again once, and saves it anew.
 */
const SCOPED_MEMORY_TTL_MS = 30 * 86_400_000;

/** FNV-1a of the entry's digest: stable across processes and versions. */
function shardOf(key: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}

/**
 * `scope`: one check shard's memory (its sort keys start with `<scope>/`), loaded and saved apart
 * from the others', so the shards of a run neither read the fleet's memory nor overwrite each other's.
 */
export function recordInspectionMemory(records: RecordStore, scope?: string): InspectionMemoryStore {
  /**
   * Every shard as last loaded (its value, turned into text only when a save compares it) or saved
   * (its text): an unchanged shard is not written again.
   */
  const known = new Map<string, string | InspectionMemory>();
  const knownText = (name: string): string | undefined => {
    const shard = known.get(name);
    return shard === undefined || typeof shard === 'string' ? shard : JSON.stringify(shard);
  };
  const prefix = scope ? `${scope}/` : '';
  /**
   * What the records hold, as of this store's last load or save: the caches' generation then and
   * the digests the records' memory holds. A warm run that met nothing new (the same generation)
   * does not read the memory again, since the caches hold all of it. A run that met nothing new
   * and used exactly those digests would export the same memory: it is not exported again. That
   * is also a cold run's usual end (a new process that loaded yesterday's memory of the same fleet).
   */
  let saved: InspectionMemoryMark | undefined;
  return {
    async load() {
      // What this scope uses starts now (a warm function may have checked another shard before).
      if (scope) restartInspectionUse();
      if (saved !== undefined && inspectionContentGeneration() === saved.generation) return 0;
      let shards: Array<{ sort: string; value: InspectionMemory }>;
      try {
        shards = await records.list<InspectionMemory>(PARTITION, scope ? { sortPrefix: prefix } : {});
      } catch {
        return 0;
      }
      let taken = 0;
      for (const { sort: full, value } of shards) {
        known.set(full.slice(prefix.length), value);
        taken += importInspectionMemory(value);
      }
      saved = loadedInspectionMemoryMark(shards.map((shard) => shard.value));
      return taken;
    },
    async save() {
      if (inspectionMemoryUnchanged(saved)) return;
      const mark = exportedInspectionMemoryMark();
      const memory = exportInspectionMemory();
      const size = JSON.stringify(memory).length;
      let count = Math.max(1, Math.ceil(size / TARGET_SHARD_BYTES));
      let texts = split(memory, count);
      while (texts.some((t) => t.length > MAX_SHARD_BYTES)) {
        count *= 2;
        texts = split(memory, count);
      }
      for (const [i, text] of texts.entries()) {
        const name = shardName(i);
        if (knownText(name) === text) continue;
        await records.put(
          { partition: PARTITION, sort: `${prefix}${name}` },
          JSON.parse(text),
          scope ? { expiresAt: new Date(Date.now() + SCOPED_MEMORY_TTL_MS) } : {},
        );
        known.set(name, text);
      }
      for (const name of [...known.keys()]) {
        if (Number(name.slice('shard-'.length)) < count) continue;
        await records.delete({ partition: PARTITION, sort: `${prefix}${name}` });
        known.delete(name);
      }
      saved = mark;
    },
  };
}

/** Scopes whose stores a process keeps (a warm check function may run several shards in turn). */
const SCOPES_KEPT = 64;

/**
 * One store per scope for the life of the process: a warm check function that runs the same shard
 * again finds the store that saved its memory, so it neither reads the memory back nor writes it
 * again when nothing changed (a new store per invocation would read it every time).
 */
export function inspectionMemoryByScope(records: RecordStore): (scope: string) => InspectionMemoryStore {
  const stores = new Map<string, InspectionMemoryStore>();
  return (scope) => {
    let store = stores.get(scope);
    if (!store) {
      if (stores.size >= SCOPES_KEPT) stores.delete(stores.keys().next().value as string);
      store = recordInspectionMemory(records, scope);
      stores.set(scope, store);
    }
    return store;
  };
}

function split(memory: InspectionMemory, count: number): string[] {
  const shards = Array.from(
    { length: count },
    (): InspectionMemory => ({
      version: memory.version,
      leaves: {},
      keyMatches: {},
    }),
  );
  for (const [key, value] of Object.entries(memory.leaves))
    (shards[shardOf(key, count)] as InspectionMemory).leaves[key] = value;
  for (const [key, value] of Object.entries(memory.keyMatches))
    (shards[shardOf(key, count)] as InspectionMemory).keyMatches[key] = value;
  return shards.map((s) => JSON.stringify(s));
}
