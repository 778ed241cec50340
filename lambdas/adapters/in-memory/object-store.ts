import type { ObjectStore } from '../../domain/ports';
import { objectKeyProblem } from '../../domain/ports/object-store';

/**
 * Objects in memory, for the unit tests and the CLI (which prints its report and keeps no bucket).
 * It refuses the keys S3 would (objectKeyProblem) and keeps a copy of each body, so a caller that
 * changes its buffer afterwards does not change the object.
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, { body: Buffer; contentType: string }>();

  constructor(readonly bucket = 'memory') {}

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    const problem = objectKeyProblem(key);
    if (problem) throw new RangeError(`cannot store the object ${JSON.stringify(key)}: ${problem}`);
    this.objects.set(key, {
      body: typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body),
      contentType,
    });
  }

  async getText(key: string): Promise<string | null> {
    return this.objects.get(key)?.body.toString('utf8') ?? null;
  }

  /** The keys stored under a prefix, in S3's listing order (by their UTF-8 bytes). */
  keys(prefix = ''): string[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /** An object's bytes and content type, as written. */
  object(key: string): { body: Buffer; contentType: string } | undefined {
    const found = this.objects.get(key);
    return found ? { body: Buffer.from(found.body), contentType: found.contentType } : undefined;
  }
}
