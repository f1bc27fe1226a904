/**
 * Opening the SQLite metadata database: WAL mode and its pragmas, a warning when the log holds
 * transactions SQLite is about to drop, and corruption reported as METADATA_CORRUPT naming the
 * file and how to recover, instead of a bare "file is not a database".
 */
import Database from "better-sqlite3";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { TrainyardError } from "../core/errors.js";
import { closedCleanly, fileStamp, inspectWalTail, walLosesData, type WalTail } from "./sqlite-wal-check.js";

export interface SqliteOpenOptions {
  /** Path of better-sqlite3's compiled addon. @default found by better-sqlite3 */
  nativeBinding?: string;
  /** Told, in words, about data the write-ahead log loses on open. @default writes to stderr */
  onWarning?: (message: string) => void;
}

/** SQLite result codes (and messages) that mean the file's bytes are damaged, not the query. */
const CORRUPT_CODES = new Set([
  "SQLITE_CORRUPT",
  "SQLITE_NOTADB",
  "SQLITE_CORRUPT_VTAB",
  "SQLITE_CORRUPT_SEQUENCE",
  "SQLITE_CORRUPT_INDEX",
]);
const CORRUPT_MESSAGE = /file is not a database|database disk image is malformed|malformed database schema/i;
/** How long a log with an open tail is watched for a live writer finishing its commit. */
const LIVE_WRITER_GRACE_MS = 50;

export function isSqliteCorruption(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (typeof e.code === "string" && CORRUPT_CODES.has(e.code)) return true;
  return typeof e.message === "string" && CORRUPT_MESSAGE.test(e.message);
}

/** The error a damaged metadata database raises wherever it is found. */
export function metadataCorruptError(file: string, cause: unknown): TrainyardError {
  // The driver's message ("file is not a database") follows as the cause; the code keeps it greppable.
  const code = (cause as { code?: unknown })?.code;
  const what = typeof code === "string" ? ` (${code})` : "";
  return new TrainyardError("METADATA_CORRUPT", `the metadata database ${file} is damaged${what}`, {
    file,
    cause,
    hint:
      `restore ${file} from a backup, or salvage what is readable: ` +
      `sqlite3 ${shellWord(file)} ".recover" | sqlite3 ${shellWord(`${file}.recovered`)}, ` +
      "then move the result into place; do not run `trainyard gc` on this home until the database is repaired " +
      "(it would take every object for an orphan)",
  });
}

/** Runs `fn`, turning SQLite corruption errors into METADATA_CORRUPT for `file`. */
export function guardCorruption<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isSqliteCorruption(err)) throw metadataCorruptError(file, err);
    throw err;
  }
}

/**
 * Opens (creating if needed) the database in WAL mode. Damage found while opening raises
 * METADATA_CORRUPT; a log about to lose transactions is reported through `onWarning` first.
 */
export function openSqliteDatabase(file: string, opts: SqliteOpenOptions = {}): Database.Database {
  if (file === ":memory:") return configure(new Database(file, { nativeBinding: opts.nativeBinding }));
  mkdirSync(dirname(file), { recursive: true });
  warnOfWalLoss(file, opts.onWarning ?? ((m) => process.stderr.write(`trainyard: warning: ${m}\n`)));
  return guardCorruption(file, () => {
    const db = new Database(file, { nativeBinding: opts.nativeBinding });
    try {
      configure(db);
      // Parses the schema now, so a damaged sqlite_master is reported here rather than by a later query.
      db.prepare(`SELECT count(*) FROM sqlite_master`).get();
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

function configure(db: Database.Database): Database.Database {
  // NORMAL before WAL: switching a new database to WAL is its first transaction, and under the
  // default FULL it synced the rollback journal, the database and their directory.
  db.pragma("synchronous = NORMAL");
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 10000");
  db.pragma("foreign_keys = OFF");
  return db;
}

/**
 * Says when the log ends in an uncommitted or torn transaction, before SQLite replays it and
 * drops that tail. A live writer's open tail lasts milliseconds: if the log changes within a
 * short grace it belongs to another process still writing, not to a crash.
 */
function warnOfWalLoss(file: string, warn: (message: string) => void): void {
  const walFile = `${file}-wal`;
  const before = fileStamp(walFile);
  // A live connection owns the log (and SQLite will not replay it): only a crashed one leaves it alone.
  if (before === undefined || closedCleanly(walFile, before) || sharedMemoryLocked(`${file}-shm`)) return;
  const tail = inspectWalTail(walFile);
  if (!walLosesData(tail)) return;
  sleepSync(LIVE_WRITER_GRACE_MS);
  if (fileStamp(walFile) !== before) return;
  warn(describeWalLoss(walFile, tail));
}

export function describeWalLoss(walFile: string, tail: WalTail): string {
  const parts: string[] = [];
  if (tail.uncommittedFrames > 0) parts.push(`${tail.uncommittedFrames} page(s) of a transaction that never committed`);
  if (tail.tornBytes > 0) parts.push(`a frame written only in part (${tail.tornBytes} bytes)`);
  return (
    `the write-ahead log ${walFile} ends in ${parts.join(" and ")}: the last transaction(s) written before a ` +
    `crash were discarded (${tail.committedFrames} committed page(s) are kept); a run that was in progress may ` +
    "be missing its last records, so check it with `trainyard runs` and resume it"
  );
}

/**
 * Whether a process holds a lock on the database's shared-memory file: every open WAL connection
 * keeps a read lock on it. Linux lists locks in /proc/locks; elsewhere this answers false.
 */
function sharedMemoryLocked(shmFile: string): boolean {
  let ino: number;
  let locks: string;
  try {
    ino = statSync(shmFile).ino;
    locks = readFileSync("/proc/locks", "utf8");
  } catch {
    return false;
  }
  // Lines read "1: POSIX ADVISORY READ 4242 08:01:1234567 128 128"; the 6th field ends in the inode.
  const suffix = `:${ino}`;
  return locks.split("\n").some(
    (line) =>
      line
        .split(/\s+/)
        .filter((f) => f !== "->")[5]
        ?.endsWith(suffix) === true,
  );
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Quotes a path for the hint's shell command line when it holds anything but plain characters. */
function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
