/**
 * The pending-object journal: before an object is renamed into the store (or an existing one is
 * reused), its digest is appended to a file of this process, `<artifacts>/pending/<pid>-<ticks>-<n>`.
 * Until the records naming the object commit, nothing else says it is wanted; gc keeps every
 * digest listed in the journal of a live process and removes the journals of dead ones.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describeIdentity, identityAlive, selfIdentity, type ProcessIdentity } from "./process-identity.js";

let instances = 0;

export class PendingJournal {
  private fd?: number;
  private headerBytes = 0;
  private holds = 0;
  readonly path: string;

  constructor(readonly dir: string) {
    const me = selfIdentity();
    this.path = join(dir, `${me.pid}-${me.startTicks}-${instances++}`);
  }

  /** Appends digests; one small write to a file kept open (a few microseconds). */
  append(digest: string): void {
    writeSync(this.open(), `${digest}\n`);
  }

  appendAll(digests: Iterable<string>): void {
    let text = "";
    for (const d of digests) text += `${d}\n`;
    if (text) writeSync(this.open(), text);
  }

  /**
   * Marks a stretch (a run) whose objects must stay in the journal until its records commit;
   * the journal empties when the last hold is released.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.fd !== undefined) ftruncateSync(this.fd, this.headerBytes);
    };
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    mkdirSync(this.dir, { recursive: true });
    const fd = openSync(this.path, "a");
    const header = `${JSON.stringify(selfIdentity())}\n`;
    ftruncateSync(fd, 0);
    this.headerBytes = writeSync(fd, header);
    this.fd = fd;
    return fd;
  }
}

export interface PendingScan {
  /** Digests named by journals of live processes (or of other hosts, which cannot be checked). */
  digests: Set<string>;
  /** Live journal owners, for messages. */
  owners: string[];
  /** Journals of dead processes, removed. */
  removed: number;
}

/** Reads every journal under `dir`; with `removeDead`, deletes those whose process is gone. */
export function scanPendingJournals(dir: string, opts: { removeDead?: boolean } = {}): PendingScan {
  const out: PendingScan = { digests: new Set(), owners: [], removed: 0 };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    const lines = text.split("\n");
    // A header not yet written: the file name still tells the owner's pid and start time.
    const owner = parseIdentity(lines[0]) ?? identityFromName(name);
    const alive = owner ? identityAlive(owner) : true;
    if (alive === false) {
      if (opts.removeDead) rmSync(path, { force: true });
      out.removed++;
      continue;
    }
    if (owner) out.owners.push(describeIdentity(owner));
    for (const line of lines.slice(1)) if (line) out.digests.add(line);
  }
  return out;
}

function identityFromName(name: string): ProcessIdentity | undefined {
  const m = /^(\d+)-(\d+)-\d+$/.exec(name);
  return m ? { pid: Number(m[1]), startTicks: Number(m[2]), host: selfIdentity().host, bootId: "" } : undefined;
}

function parseIdentity(line: string | undefined): ProcessIdentity | undefined {
  if (!line) return undefined;
  try {
    const id = JSON.parse(line) as ProcessIdentity;
    return typeof id.pid === "number" && typeof id.host === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
