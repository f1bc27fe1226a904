/**
 * The artifact store: immutable content, addressed by the sha256 of its bytes. The embedded
 * backend keeps files under the home directory; object storage implements the same interface.
 */
export interface StoredObject {
  digest: string;
  size: number;
  /** Local path to read the content from. */
  path: string;
}

/** What the file system says about a stored object, for verification stamps and gc's grace period. */
export interface ObjectStat {
  size: number;
  mtimeMs: number;
  /** Set when the object entered the store (chmod, rename); rename keeps the source's mtime. */
  ctimeMs: number;
  ino: number;
  isDirectory: boolean;
}

export interface ArtifactStore {
  readonly backend: string;
  /**
   * Adds a file. With `move`, the source (which must be on the store's file system, e.g. a step
   * work directory) is renamed into place instead of copied. `digest` skips hashing when the
   * caller already knows it (the stat index); `size`, the size the caller has just seen, saves
   * asking again.
   */
  putFile(source: string, opts?: { move?: boolean; digest?: string; size?: number }): Promise<StoredObject>;
  /** Adds a directory tree; its digest covers every relative path, mode and file content. */
  putDirectory(source: string, opts?: { move?: boolean }): Promise<StoredObject>;
  putBytes(bytes: Uint8Array): Promise<StoredObject>;
  /**
   * Makes everything stored so far durable; metadata referring to an object is committed only
   * after this resolves. Optional: a backend whose puts are durable on return needs none.
   */
  sync?(): Promise<void>;
  /** Releases helper processes or connections and finishes background work. */
  close?(): Promise<void> | void;
  has(digest: string): Promise<boolean>;
  /** The local path of stored content (for object storage: after fetching it to a local cache). */
  pathOf(digest: string): Promise<string>;
  /** pathOf without a round trip, for a store whose content is always local. */
  localPath?(digest: string): string;
  remove(digest: string): Promise<void>;
  list(): Promise<string[]>;
  /** The object's size and times; undefined when it is missing. */
  statObject?(digest: string): Promise<ObjectStat | undefined>;
  /** Moves a damaged object out of the store (into `<root>/quarantine`); its new path, if it existed. */
  quarantine?(digest: string): Promise<string | undefined>;
  /**
   * Lists digests in this process's pending journal, so that gc keeps them until the records
   * naming them commit (objects being reused rather than stored).
   */
  retain?(digests: Iterable<string>): void;
  /** A stretch (one run) whose journal entries must stay until it ends; returns its release. */
  holdPending?(): () => void;
  /** Digests in the journals of live processes; journals of dead ones are removed with `removeDead`. */
  pendingDigests?(opts?: { removeDead?: boolean }): { digests: Set<string>; owners: string[]; removed: number };
  /** A fresh, empty directory on the same file system, for step work directories. */
  makeWorkDir(label: string): Promise<string>;
}
