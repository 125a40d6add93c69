import { createHash } from 'node:crypto';

/** One snapshot file kept on a controller. */
export interface SnapshotFile {
  name: string;
  bytes: Buffer;
  sha1: string;
  createdAtS: number;
}

/** How many snapshots a controller keeps before `POST /snapshots` answers 403 (ours). */
export const MAX_SNAPSHOTS = 20;

/** The snapshot files of one controller, in creation order. */
export class SnapshotStore {
  readonly #files = new Map<string, SnapshotFile>();

  get size(): number {
    return this.#files.size;
  }

  has(name: string): boolean {
    return this.#files.has(name);
  }

  get(name: string): SnapshotFile | undefined {
    return this.#files.get(name);
  }

  add(name: string, bytes: Buffer, createdAtS: number): SnapshotFile {
    const file = { name, bytes, sha1: createHash('sha1').update(bytes).digest('hex'), createdAtS };
    this.#files.set(name, file);
    return file;
  }

  delete(name: string): boolean {
    return this.#files.delete(name);
  }

  /** Oldest first. */
  list(): SnapshotFile[] {
    return [...this.#files.values()];
  }

  /** The newest (the last created), if any. */
  latest(): SnapshotFile | undefined {
    return this.list().at(-1);
  }
}
