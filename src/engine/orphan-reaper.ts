/**
 * Before a run is resumed, whatever its dead orchestrators left running is killed and their
 * work directories are removed, so that no orphan writes next to (or into) a new attempt.
 * An orchestrator records each process group it starts under <workRoot>/procs/<runId>/ and puts
 * its token into every command's environment (see runners/process-supervisor.ts).
 */
import { readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { identityAlive, processStartTicks, type ProcessIdentity } from "../store/process-identity.js";
import { valuesDir } from "./runners/command-env.js";
import { killByToken, PROCESS_TOKEN, procsDir, signalGroup } from "./runners/process-supervisor.js";

/** How long killed orphans are waited for before resume goes on. */
const WAIT_MS = 5000;

/**
 * Kills the process groups and processes that dead orchestrators of `runId` left running, waits
 * until they are gone, and removes their records and work directories. Groups of a live
 * orchestrator (this one, or another still running the run) are left alone. Returns how many
 * groups and stray processes were killed.
 */
export async function reapOrphans(workRoot: string, runId: string): Promise<number> {
  const dir = procsDir(workRoot, runId);
  const names = listDir(dir);
  const alive = new Map<string, boolean>([[PROCESS_TOKEN, true]]);
  const isDead = (token: string) => {
    let live = alive.get(token);
    if (live === undefined) alive.set(token, (live = ownerAlive(join(dir, `${token}.owner`))));
    return !live;
  };
  const dead = new Set(names.map((name) => name.split(".")[0]).filter(isDead));
  const groups: number[] = [];
  for (const name of names) {
    const m = /^([0-9a-f]+)\.(\d+)\.pg$/.exec(name);
    if (!m || !dead.has(m[1])) continue;
    const pgid = Number(m[2]);
    if (sameLeader(pgid, join(dir, name)) && signalGroup(pgid, "SIGKILL")) groups.push(pgid);
  }
  const strays = [...killByToken([...dead].map((t) => `${t}-`)).values()].flat();
  await waitGone(groups, strays);
  for (const name of names) if (dead.has(name.split(".")[0])) removeQuietly(join(dir, name));
  await removeWorkdirs(workRoot, runId, isDead);
  return groups.length + strays.length;
}

function ownerAlive(file: string): boolean {
  let owner: ProcessIdentity;
  try {
    owner = JSON.parse(readFileSync(file, "utf8")) as ProcessIdentity;
  } catch {
    return false;
  }
  // Another host's orchestrator cannot be judged (nor its processes killed) from here.
  return identityAlive(owner) !== false;
}

/**
 * Whether the group's leader is the process recorded, or has exited (a pgid is not reused while
 * its group lives); false when an unrelated process now has that pid.
 */
function sameLeader(pgid: number, record: string): boolean {
  const now = processStartTicks(pgid);
  if (now === undefined) return true;
  try {
    return Number(readFileSync(record, "utf8").trim()) === now;
  } catch {
    return false;
  }
}

async function waitGone(groups: number[], pids: number[]): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const left =
      groups.some((g) => signalGroup(g, 0)) || pids.some((p) => processStartTicks(p) !== undefined && !zombie(p));
    if (!left || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A killed process whose parent has not collected it yet holds nothing. */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return true;
  }
}

/**
 * Work directories of the run's dead orchestrators (named work-<runId>-<token>-<n>; older ones
 * without a token; a token without a live owner record is dead, since resume refuses a run whose
 * orchestrator lives), and the value files and record directory once nothing live uses them.
 */
async function removeWorkdirs(workRoot: string, runId: string, isDead: (token: string) => boolean): Promise<void> {
  const prefix = `work-${runId}-`;
  const removals: Array<Promise<void>> = [];
  for (const name of listDir(workRoot)) {
    if (!name.startsWith(prefix)) continue;
    const token = name.slice(prefix.length).split("-")[0];
    const legacy = /^\d+$/.test(name.slice(prefix.length));
    if (legacy || isDead(token)) removals.push(rm(join(workRoot, name), { recursive: true, force: true }));
  }
  await Promise.all(removals);
  const procs = procsDir(workRoot, runId);
  if (listDir(procs).length === 0) {
    rmSync(procs, { recursive: true, force: true });
    // Value files are shared by the run's commands: only removed when no orchestrator is left.
    rmSync(valuesDir(workRoot, runId), { recursive: true, force: true });
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}
