/**
 * PostgreSQL restarted under a running pipeline (a minor-version upgrade, a switchover): every session
 * is cut and the server is away for a second while steps keep finishing. The run goes on: its record
 * writes and lease heartbeats wait for the server and land once it is back, so the run succeeds with
 * every step recorded, and running it again reuses every step. The same holds for a crash (an
 * immediate shutdown, then recovery from the WAL) of a server with its default durability. Real
 * PostgreSQL servers, restarted and crashed.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isConnectionLoss } from "../../src/store/postgres-reconnect.js";
import { type RunResult, Trainyard } from "../../src/engine/trainyard.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { useHomes } from "./support.js";

const postgres = requireTools("postgresql");
const homes = useHomes();
let server: TestPostgres;

const STEPS = 120;

/** A chain of STEPS steps of 20 ms each: records are written all through the outage. */
function chainModule(): string {
  const lines = ['import { pipeline } from "trainyard";', 'const p = pipeline("pg-restart", {});'];
  for (let i = 0; i < STEPS; i++) {
    const inputs = i ? `{ x: s${i - 1} }` : "{}";
    const run = `async () => { await new Promise((r) => setTimeout(r, 20)); return ${i}; }`;
    lines.push(`const s${i} = p.step("s${i}", { inputs: ${inputs}, run: ${run} });`);
  }
  lines.push("export default p;");
  return `${lines.join("\n")}\n`;
}

/** A home on PostgreSQL metadata (`options`: more of its metadata config), with the chain module beside it. */
async function chainHome(url: string, options: { reconnectWithinMs?: number } = {}) {
  const dir = homes.fixtureDir();
  const file = path.join(dir, "chain.ts");
  fs.writeFileSync(file, chainModule());
  const ty = await Trainyard.open({
    home: homes.tempDir("ty-pg-restart-"),
    metadata: { kind: "postgres", url, ...options },
    artifacts: { kind: "fs", root: path.join(dir, "artifacts") },
  });
  return { ty, file };
}

/** Runs the chain, the server stopped and started a fifth of the way in: steps go on finishing while it is down. */
async function runRestarted(ty: Trainyard, file: string, stopAndStart: () => Promise<void>): Promise<RunResult> {
  let finished = 0;
  let restart: Promise<void> | undefined;
  const settled = await ty
    .run(file, {
      onEvent: (e) => {
        if (e.type === "step-finished" && ++finished === STEPS / 5)
          restart = new Promise((r) => setTimeout(r, 0)).then(stopAndStart);
      },
    })
    .then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
  await restart;
  expect(restart, "the server was restarted mid-run").toBeDefined();
  if ("error" in settled) throw settled.error;
  return settled.result;
}

/** Runs the chain on `server` through a stop and start; checks the run and a rerun. */
async function runThrough(server: TestPostgres, stopAndStart: () => Promise<void>): Promise<void> {
  const { ty, file } = await chainHome(server.url);
  try {
    const result = await runRestarted(ty, file, stopAndStart);
    expect(result.status).toBe("succeeded");
    const steps = await ty.metadata.listStepRuns(result.runId);
    expect(steps).toHaveLength(STEPS);
    expect(steps.filter((s) => s.status !== "succeeded").map((s) => `${s.stepId} ${s.status}`)).toEqual([]);
    expect((await ty.getRun(result.runId))?.status).toBe("succeeded");
    const again = await ty.run(file);
    expect(again.status).toBe("succeeded");
    expect(again.steps.filter((s) => !s.cached).map((s) => s.step)).toEqual([]);
  } finally {
    await ty.close();
  }
}

postgres.describe("PostgreSQL restarted during a run", () => {
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it(
    "the run succeeds with every step recorded, and a rerun reuses them all",
    () => runThrough(server, () => server.restart({ downMs: 1000 })),
    120_000,
  );

  // The other clusters of the suite run with durability off, so a crash there loses recent commits by
  // design. With the server's defaults, a crash loses nothing that was committed, and the rest is sent again.
  it("crashed (immediate shutdown, recovery from the WAL) with the default durability: the same", async () => {
    const durable = await startPostgres({ durable: true });
    try {
      await runThrough(durable, () => durable.restart({ immediate: true, downMs: 1000 }));
    } finally {
      await durable.stop();
    }
  }, 120_000);

  // A server away for longer than the configured window: the run's writes fail rather than wait on.
  it("waits no longer than the configured reconnectWithinMs", async () => {
    const { ty, file } = await chainHome(server.url, { reconnectWithinMs: 300 });
    try {
      const outcome = await runRestarted(ty, file, () => server.restart({ downMs: 3000 })).then(
        (r) => r.status,
        (err: Error) => err.message,
      );
      // With the default minute, the same outage is ridden out (the first case).
      expect(outcome).toMatch(/metadata store stayed unreachable for 0\.3 s/);
    } finally {
      await ty.close().catch(() => undefined);
    }
  }, 120_000);

  it("tells a lost connection from a refused statement", () => {
    expect(
      isConnectionLoss(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })),
    ).toBe(true);
    expect(isConnectionLoss({ code: "57P01", message: "terminating connection due to administrator command" })).toBe(
      true,
    );
    expect(isConnectionLoss({ code: "57P03", message: "the database system is starting up" })).toBe(true);
    expect(isConnectionLoss(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isConnectionLoss({ code: "23505", message: "duplicate key value violates unique constraint" })).toBe(false);
    expect(isConnectionLoss({ code: "40001", message: "could not serialize access" })).toBe(false);
    expect(isConnectionLoss({ code: "57014", message: "canceling statement due to statement timeout" })).toBe(false);
  });
});
