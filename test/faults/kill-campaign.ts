/**
 * Random `kill -9` of `trainyard run` and of `trainyard resume` (in a third of the trials the
 * resume is killed too), then resume to the end, and check: the run succeeds, its outputs equal
 * an uninterrupted run's, no committed step ran again, no step ran in two processes at once, and
 * every stored object hashes to its name (history checker and `trainyard fsck`).
 * Used by test/faults/kill-resume.test.ts (a few trials) and bench/kill-campaign.ts (100).
 */
import { spawnSync } from "node:child_process";
import { startCli } from "../cli/support.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  checkHistory,
  committedSteps,
  journal,
  journalOverlaps,
  outputsOf,
  rerunAfterCommit,
} from "./history-checker.js";

const REPO = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BIN = path.join(REPO, "bin", "trainyard.js");
export const FAULT_MODULE = path.join(REPO, "test", "fixtures", "faults", "fault-dag.ts");

export interface TrialResult {
  trial: number;
  kills: number;
  /** The first process finished before its kill came: nothing was interrupted. */
  finishedBeforeKill: boolean;
  problems: string[];
}

type Proc = ReturnType<typeof startCli>;
const start = (args: string[], home: string): Proc => startCli(args, home);

/** A small seeded generator, so a failing trial can be replayed. */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the fault pipeline once, uninterrupted, and returns its outputs and duration. */
export async function referenceRun(root: string): Promise<{ outputs: Record<string, string | undefined>; ms: number }> {
  const home = path.join(root, "ref-home");
  const dir = fs.mkdtempSync(path.join(root, "ref-dir-"));
  const t0 = Date.now();
  const r = await start(
    ["run", FAULT_MODULE, "--param", `dir=${dir}`, "--param", "pause=0.4", "--json", "--concurrency", "2"],
    home,
  ).done;
  if (r.code !== 0) throw new Error(`the reference run failed:\n${r.stdout}\n${r.stderr}`);
  const runId = JSON.parse(r.stdout).runId as string;
  return { outputs: await outputsOf(home, runId), ms: Date.now() - t0 };
}

async function runIdOf(home: string): Promise<string | undefined> {
  const { openHome } = await import("./history-checker.js");
  if (!fs.existsSync(path.join(home, "metadata.db"))) return undefined;
  const view = openHome(home);
  try {
    return (await view.meta.listRuns({ limit: 1 }))[0]?.id;
  } finally {
    await view.close();
  }
}

export async function killTrial(
  trial: number,
  root: string,
  reference: { outputs: Record<string, string | undefined>; ms: number },
  rand: () => number,
): Promise<TrialResult> {
  const home = path.join(root, `home-${trial}`);
  const dir = fs.mkdtempSync(path.join(root, `dir-${trial}-`));
  const problems: string[] = [];
  let kills = 0;
  const stages: Array<{ from: number; committed: Set<string> }> = [];
  const killAfter = async (p: Proc, ms: number): Promise<boolean> => {
    const finished = await Promise.race([p.done.then(() => true), sleep(ms).then(() => false)]);
    if (finished) return false;
    p.child.kill("SIGKILL");
    await p.done;
    kills++;
    // Give a killed tree's stragglers (if any survive) a moment to show up in the journal.
    await sleep(50);
    return true;
  };
  const noteCommitted = async (runId: string) => {
    stages.push({ from: journal(dir).length, committed: await committedSteps(home, runId) });
  };

  const first = start(
    ["run", FAULT_MODULE, "--param", `dir=${dir}`, "--param", "pause=0.4", "--json", "--concurrency", "2"],
    home,
  );
  // Killed at a random moment once the first command has begun, so a run record exists.
  const begun = Date.now();
  while (!journal(dir).length && Date.now() - begun < 30_000) await sleep(10);
  const killed = await killAfter(first, rand() * reference.ms * 0.8);
  const runId = await runIdOf(home);
  if (!runId) return { trial, kills, finishedBeforeKill: !killed, problems: ["no run was recorded"] };
  if (killed) {
    await noteCommitted(runId);
    if (rand() < 1 / 3) {
      const resume = start(["resume", runId, "--json"], home);
      if (await killAfter(resume, 50 + rand() * reference.ms * 0.6)) await noteCommitted(runId);
    }
    const last = await start(["resume", runId, "--json"], home).done;
    if (last.code !== 0 && !/already succeeded/.test(last.stderr))
      problems.push(`resume exited ${last.code}: ${last.stderr.trim().slice(0, 500)}`);
  }
  const outputs = await outputsOf(home, runId);
  for (const [step, digest] of Object.entries(reference.outputs)) {
    if (outputs[step] !== digest)
      problems.push(`step ${step}: output ${outputs[step]} differs from the uninterrupted run's ${digest}`);
  }
  problems.push(...(await checkHistory(home)));
  problems.push(...journalOverlaps(dir).map((l) => `ran twice at once: ${l}`));
  for (const { from, committed } of stages) {
    problems.push(
      ...rerunAfterCommit(dir, from, committed).map((s) => `step ${s} ran again after its success was committed`),
    );
  }
  const fsck = spawnSync(process.execPath, [BIN, "fsck"], {
    env: { ...process.env, TRAINYARD_HOME: home, NO_COLOR: "1" },
    encoding: "utf8",
  });
  if (fsck.status !== 0)
    problems.push(`fsck exited ${fsck.status}: ${(fsck.stdout + fsck.stderr).trim().slice(0, 500)}`);
  if (!problems.length) fs.rmSync(home, { recursive: true, force: true });
  return { trial, kills, finishedBeforeKill: !killed, problems };
}

export function campaignRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ty-kills-"));
}
