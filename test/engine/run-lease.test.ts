/**
 * Run ownership with real processes: `trainyard run`/`resume` children on a SQLite home, killed
 * with SIGKILL (by the test or at a named crash point), and the fixture test/fixtures/engine/leased.ts,
 * whose command steps log each start and end so that a step run twice shows in the log.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { acquireRunLease } from "../../src/engine/run-lease.js";
import type { MetadataStore, RunLease } from "../../src/store/metadata-store.js";
import { processStartTicks, selfIdentity, type ProcessIdentity } from "../../src/store/process-identity.js";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { FIXTURES, REPO, processAlive, rejectionOf, useHomes, waitFor } from "./support.js";

const homes = useHomes();
const MODULE = path.join(FIXTURES, "leased.ts");
const BIN = path.join(REPO, "bin", "trainyard.js");
// The tests below start a dozen CLI processes each: a second apiece on a busy machine.

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    if (c.pid && c.exitCode === null && c.signalCode === null && processAlive(c.pid)) c.kill("SIGKILL");
  }
});

type Started = { child: ChildProcess; done: Promise<CliResult> };

function cli(args: string[], home: string, env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1", TRAINYARD_DEBUG: "", TRAINYARD_CRASH_AT: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

interface Trial {
  home: string;
  dir: string;
  log: string;
  params: string[];
}

function trial(opts: { go?: boolean } = {}): Trial {
  const home = homes.tempDir("ty-lease-home-");
  const dir = homes.tempDir("ty-lease-dir-");
  if (opts.go) fs.writeFileSync(path.join(dir, "go"), "");
  const log = path.join(dir, "log");
  return { home, dir, log, params: ["--param", `dir=${dir}`, "--param", `log=${log}`] };
}

const logLines = (t: Trial) => (fs.existsSync(t.log) ? fs.readFileSync(t.log, "utf8").split("\n").filter(Boolean) : []);
const startsIn = (lines: string[]) => lines.filter((l) => l.startsWith("start ")).map((l) => l.slice(6));

/** Waits until no command of the trial is alive (each names the trial's log in its argv). */
async function settle(t: Trial): Promise<void> {
  const alive = () =>
    fs.readdirSync("/proc").some((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(t.log);
      } catch {
        return false;
      }
    });
  await waitFor(() => !alive(), "started commands to end");
}

async function withStore<T>(t: Trial, fn: (s: MetadataStore) => Promise<T>): Promise<T> {
  const store = new SqliteMetadataStore(path.join(t.home, "metadata.db"));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function onlyRunId(t: Trial): Promise<string> {
  const runs = await withStore(t, (s) => s.listRuns());
  expect(runs).toHaveLength(1);
  return runs[0].id;
}

/** Steps whose own (uncached) success was committed: these must never run again. */
const committedSteps = (t: Trial, runId: string) =>
  withStore(t, async (s) => {
    const steps = await s.listStepRuns(runId);
    return steps.filter((r) => r.status === "succeeded" && !r.cached).map((r) => r.stepId);
  });

const outputsOf = (t: Trial, runId: string) =>
  withStore(t, async (s) => {
    const steps = (await s.listStepRuns(runId)).filter((r) => r.itemIndex < 0);
    return Object.fromEntries(steps.map((r) => [r.stepId, r.outputDigest]));
  });

/** Starts `trainyard run`, waits until it holds in the gate step, and kills it with SIGKILL. */
async function killedRun(t: Trial): Promise<string> {
  const { child, done } = cli(["run", MODULE, ...t.params, "--quiet"], t.home);
  await waitFor(() => logLines(t).includes("start gate"), "the run to reach the gate step");
  child.kill("SIGKILL");
  expect((await done).signal).toBe("SIGKILL");
  await settle(t);
  return onlyRunId(t);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** After an interruption: no committed step started again, and no step started twice. */
function expectNoRerun(newStarts: string[], committed: string[]): void {
  for (const id of committed) expect(newStarts, `committed step ${id} ran again`).not.toContain(id);
  for (const id of new Set(newStarts)) {
    expect(
      newStarts.filter((s) => s === id),
      `step ${id} started more than once`,
    ).toHaveLength(1);
  }
}

describe("run ownership", () => {
  it("lets exactly one of two concurrent resumes run; the other refuses, naming the owner", async () => {
    for (let round = 1; round <= 5; round++) {
      const t = trial();
      const runId = await killedRun(t);
      const committed = await committedSteps(t, runId);
      const before = logLines(t).length;
      const a = cli(["resume", runId, "--json"], t.home);
      const b = cli(["resume", runId, "--json"], t.home);
      // The owner holds in the gate until `go` exists, so the other one must have given up first.
      const exited = Promise.race([a.done.then((r) => ({ r, winner: b })), b.done.then((r) => ({ r, winner: a }))]);
      const first = await within(exited, 60_000, `round ${round}: one resume to refuse`);
      expect(first.r.code, `round ${round}: ${first.r.stderr}`).toBe(1);
      const owner = `pid ${first.winner.child.pid} on host ${os.hostname()}`;
      expect(first.r.stderr).toContain(`error[RUN_OWNED]: run ${runId} is owned by ${owner}`);
      expect(first.r.stderr).toMatch(/process started \d{4}-\d\d-\d\d/);
      expect(first.r.stderr).toContain(`kill ${first.winner.child.pid}`);
      fs.writeFileSync(path.join(t.dir, "go"), "");
      const won = await first.winner.done;
      expect(won.code, won.stderr).toBe(0);
      expect(JSON.parse(won.stdout)).toMatchObject({ runId, status: "succeeded" });
      const newStarts = startsIn(logLines(t).slice(before));
      expectNoRerun(newStarts, committed);
      expect(newStarts).toContain("final");
      expect(await withStore(t, (s) => s.getRunLease(runId))).toBeUndefined();
    }
  }, 300_000);

  it("takes over a lease whose pid was reused, and refuses live owners here and on other hosts", async () => {
    const t = trial();
    const runId = await killedRun(t);
    const sleeper = spawn("sleep", ["300"], { stdio: "ignore" });
    children.push(sleeper);
    const ticks = processStartTicks(sleeper.pid!)!;
    expect(ticks).toBeGreaterThan(0);
    const ty = await Trainyard.open({ home: t.home });
    try {
      // Replaces the run's lease (as if held by `owner`) and points the run's pid at it, as the old check read.
      const holdBy = async (owner: ProcessIdentity, heartbeatAt = Date.now()) => {
        const current = await ty.metadata.getRunLease(runId);
        const token = randomBytes(8).toString("hex");
        const lease: RunLease = { runId, owner, token, acquiredAt: heartbeatAt, heartbeatAt };
        expect((await ty.metadata.claimRunLease(lease, current?.token)).token).toBe(lease.token);
        await ty.metadata.updateRun(runId, { status: "running", pid: owner.pid });
      };
      const here = selfIdentity();

      await holdBy({ ...here, pid: sleeper.pid!, startTicks: ticks });
      const live = await rejectionOf(ty.resume(runId));
      expect(live.code).toBe("RUN_OWNED");
      expect(live.message).toContain(`pid ${sleeper.pid} on host ${here.host}`);
      expect(live.hint).toContain(`kill ${sleeper.pid}`);
      expect((await ty.getRun(runId))?.status).toBe("running");

      const remoteOwner = { pid: 4242, host: "elsewhere.invalid", bootId: "other-boot", startTicks: 77 };
      await holdBy(remoteOwner);
      const remote = await rejectionOf(ty.resume(runId));
      expect(remote.code).toBe("RUN_OWNED");
      expect(remote.message).toContain("pid 4242 on host elsewhere.invalid");
      expect(remote.hint).toMatch(/lease expires .*without a heartbeat/);
      expect((await ty.getRun(runId))?.status).toBe("running");
      // Silent for longer than the expiry: gone.
      await holdBy(remoteOwner, Date.now() - 10 * 60_000);
      expect((await ty.getRun(runId))?.status).toBe("interrupted");

      // The sleeper's pid with another start time: the pid was reused, the owner is dead.
      await holdBy({ ...here, pid: sleeper.pid!, startTicks: ticks + 1 });
      expect((await ty.getRun(runId))?.status).toBe("interrupted");
      fs.writeFileSync(path.join(t.dir, "go"), "");
      const resumed = await ty.resume(runId);
      expect(resumed.status).toBe("succeeded");
      expect(processAlive(sleeper.pid!)).toBe(true);
      expect(await ty.metadata.getRunLease(runId)).toBeUndefined();
    } finally {
      await ty.close();
    }
  });

  it("refuses a second claim from a live process, and renews the lease it holds", async () => {
    const store = new SqliteMetadataStore(path.join(homes.tempDir("ty-lease-db-"), "metadata.db"));
    try {
      const held = await acquireRunLease(store, "r1", { heartbeatMs: 20 });
      expect((await rejectionOf(acquireRunLease(store, "r1"))).code).toBe("RUN_OWNED");
      const first = held.lease.heartbeatAt;
      await waitFor(async () => ((await store.getRunLease("r1"))?.heartbeatAt ?? 0) > first, "a heartbeat");
      // Taken over (here: released under it): the holder learns it at its next heartbeat.
      await store.releaseRunLease("r1", held.lease.token);
      await waitFor(() => held.lost, "the holder to notice the lost lease");
      expect((held.signal.reason as { code?: string }).code).toBe("RUN_OWNED");
      await held.release();
    } finally {
      await store.close();
    }
  });
});

describe("a killed run", () => {
  it("reads and is recorded interrupted once its owner is dead, and resumes", async () => {
    const t = trial();
    const { child, done } = cli(["run", MODULE, ...t.params, "--quiet"], t.home);
    await waitFor(() => logLines(t).includes("start gate"), "the run to reach the gate step");
    const live = await cli(["runs", "--json"], t.home).done;
    expect(JSON.parse(live.stdout)[0].status).toBe("running");
    const runId = await onlyRunId(t);
    const owned = await cli(["show", runId], t.home).done;
    expect(owned.stdout).toContain(`owner     pid ${child.pid} on host ${os.hostname()}`);
    child.kill("SIGKILL");
    await done;

    const listed = await cli(["runs", "--json"], t.home).done;
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)[0]).toMatchObject({ id: runId, status: "interrupted" });
    const stored = await withStore(t, (s) => s.getRun(runId));
    expect(stored?.status).toBe("interrupted");
    expect(stored?.finishedAt).toBeGreaterThanOrEqual(stored!.createdAt);
    const shown = await cli(["show", runId.slice(0, 17), "--json"], t.home).done;
    expect(JSON.parse(shown.stdout).run.status).toBe("interrupted");

    // Run ids are matched literally: LIKE wildcards name no run.
    for (const pattern of ["%", "_", "2%"]) {
      const r = await cli(["show", pattern], t.home).done;
      expect(r.code, pattern).not.toBe(0);
      expect(r.stderr).toContain("error[NOT_FOUND]");
    }

    await settle(t);
    fs.writeFileSync(path.join(t.dir, "go"), "");
    const resumed = await cli(["resume", runId, "--json"], t.home).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).status).toBe("succeeded");
    expect((await withStore(t, (s) => s.getRun(runId)))?.status).toBe("succeeded");
  }, 120_000);
});

describe("named crash points", () => {
  it("resumes after a kill at each point to an uninterrupted run's outputs, rerunning no committed step", async () => {
    const ref = trial({ go: true });
    const clean = await cli(["run", MODULE, ...ref.params, "--json"], ref.home).done;
    expect(clean.code, clean.stderr).toBe(0);
    const expected = await outputsOf(ref, await onlyRunId(ref));
    expect(Object.keys(expected).sort()).toEqual(["final", "gate", "left", "prep", "right"]);
    expect(Object.values(expected).every(Boolean)).toBe(true);

    const points = [
      "before-record-commit:2",
      "after-record-commit:2",
      "before-record-commit:3",
      "after-record-commit:3",
      "mid-resume",
    ];
    for (const point of points) {
      const t = trial({ go: true });
      // mid-resume: the run is first interrupted elsewhere, then the resume itself dies.
      const runCrash = point === "mid-resume" ? "after-record-commit:2" : point;
      const crashed = await cli(["run", MODULE, ...t.params, "--quiet"], t.home, { TRAINYARD_CRASH_AT: runCrash }).done;
      expect(crashed.signal, `${point}: the run should die at ${runCrash}\n${crashed.stderr}`).toBe("SIGKILL");
      await settle(t);
      const runId = await onlyRunId(t);
      const committed = await committedSteps(t, runId);
      const before = logLines(t).length;
      if (point === "mid-resume") {
        const dying = await cli(["resume", runId, "--quiet"], t.home, { TRAINYARD_CRASH_AT: "mid-resume" }).done;
        expect(dying.signal, dying.stderr).toBe("SIGKILL");
        expect(logLines(t).length, "mid-resume dies before any step starts").toBe(before);
      }
      const resumed = await cli(["resume", runId, "--json"], t.home).done;
      expect(resumed.code, `${point}: ${resumed.stderr}`).toBe(0);
      expect(JSON.parse(resumed.stdout).status).toBe("succeeded");
      expectNoRerun(startsIn(logLines(t).slice(before)), committed);
      expect(await outputsOf(t, runId), point).toEqual(expected);
    }
  }, 300_000);
});
