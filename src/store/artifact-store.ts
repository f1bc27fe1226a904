/**
 * The artifact store: immutable objects addressed by their digest, shaped like object storage
 * (has / put / get to a local cache / stream / list / delete / stat). The embedded backend keeps
 * files under the home directory; the S3 backend keeps objects in a bucket and reads them
 * through a local cache of verified copies. Neither the engine nor a step sees where an object
 * lives: they ask for a verified local copy.
 */
import type { Readable } from "node:stream";

export interface StoredObject {
  digest: string;
  size: number;
  /** A verified local copy of the content (the object itself in the fs backend, else the cache's copy). */
  path: string;
}

/** What the store knows of an object: for verification stamps and gc's grace period. */
export interface ObjectStat {
  size: number;
  mtimeMs: number;
  /** When the object last entered the store (a put of the same content refreshes it where it can). */
  ctimeMs: number;
  /** The file's inode in the fs backend; 0 for objects that are not local files. */
  ino: number;
  isDirectory: boolean;
}

export interface PutFileOptions {
  /**
   * The caller gives the source up (a step's work directory): the store may take it over, e.g.
   * by renaming it into place, and the source path may be gone afterwards.
   */
  consume?: boolean;
  /**
   * The digest, when the caller already knows it: saves hashing before the write. The fs store
   * trusts it; the S3 store checks it while it uploads and refuses a wrong one (DIGEST_INVALID).
   */
  digest?: string;
  /** The size the caller has just seen, saving a stat. */
  size?: number;
}

export interface ArtifactStore {
  readonly backend: string;
  /** Adds a file under its digest. Putting content already stored is a no-op that succeeds. */
  putFile(source: string, opts?: PutFileOptions): Promise<StoredObject>;
  /** Adds a directory tree; its digest covers every relative path, mode and file content. */
  putDirectory(source: string, opts?: { consume?: boolean }): Promise<StoredObject>;
  putBytes(bytes: Uint8Array): Promise<StoredObject>;
  has(digest: string): Promise<boolean>;
  /** The object's size and times; undefined when it is missing. */
  stat(digest: string): Promise<ObjectStat | undefined>;
  /**
   * A local path holding the object's content, fetched and verified against the digest first
   * when it is not local yet. Throws ARTIFACT_MISSING or ARTIFACT_CORRUPT.
   */
  getLocal(digest: string): Promise<string>;
  /** The object's bytes as a stream (a directory as an archive, see object-archive.ts). */
  stream(digest: string): Promise<Readable>;
  list(): Promise<string[]>;
  delete(digest: string): Promise<void>;
  /**
   * Where getLocal puts (or finds) `digest` on this machine, known without I/O: the content may
   * not be there until getLocal resolves. Lets a loaded output name its paths before any fetch.
   */
  localPath(digest: string): string;
  /**
   * True when getLocal hands out only copies it verified against their digests (a remote store's
   * cache); false when the caller verifies the local file itself (the fs backend, with stamps).
   */
  readonly verifiesReads: boolean;
  /**
   * Makes everything stored so far durable; metadata referring to an object is committed only
   * after this resolves. Optional: a backend whose puts are durable on return needs none.
   */
  sync?(): Promise<void>;
  /** Releases helper processes or connections and finishes background work. */
  close?(): Promise<void> | void;
  /** Moves a damaged object out of every reader's way; where it went, if it existed. */
  quarantine?(digest: string): Promise<string | undefined>;
  /**
   * Aborts uploads in parts that killed processes of this machine left open, so the server drops
   * their parts; how many. Optional: a backend without uploads in parts needs none.
   */
  abortAbandonedUploads?(): Promise<number>;
  /**
   * Lists digests in this process's pending journal, so that gc keeps them until the records
   * naming them commit (objects being reused rather than stored).
   */
  retain?(digests: Iterable<string>): void;
  /** A stretch (one run) whose journal entries must stay until it ends; returns its release. */
  holdPending?(): () => void;
  /** Digests in the journals of live processes; journals of dead ones are removed with `removeDead`. */
  pendingDigests?(opts?: { removeDead?: boolean }): { digests: Set<string>; owners: string[]; removed: number };
  /** Removes temporary files left behind by killed processes; how many. */
  sweepTemp?(olderThanMs: number): Promise<number>;
  /** Copies of step log files kept beside the artifacts, for every machine to read (see LogCopies). */
  readonly logCopies?: LogCopies;
}

/**
 * Copies of workers' step log files, kept in the artifact store's storage (not as artifacts: a
 * copy is named, not content-addressed) so that `trainyard logs` on any machine reads a step's
 * whole log after the worker that wrote it is gone. Named `<run dir>/<file>`, as under a home's
 * `logs` directory (step-log-files.ts).
 */
export interface LogCopies {
  /** Stores a copy of `from` (a file, or bytes) as `name`, replacing any copy of that name. */
  put(name: string, from: string | Buffer): Promise<void>;
  /** The copy's bytes; undefined when there is none. */
  open(name: string): Promise<Readable | undefined>;
  /** Removes the copies named; a name with no copy is no error. */
  remove(names: readonly string[]): Promise<void>;
  /** Removes every copy under the run directories `dirs`; how many there were. */
  removeDirs(dirs: readonly string[]): Promise<number>;
  /** Every run directory, with the time (ms) its newest copy was stored. */
  dirs(): Promise<Map<string, number>>;
}
