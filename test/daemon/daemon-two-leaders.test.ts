/**
 * Two daemons on one home (SQLite) and on one PostgreSQL database: one leads, the other stands
 * by; killing the leader with -9 hands over after the lease expires; every tick has exactly one
 * run and no slot is lost.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { PostgresTickStore } from "../../src/store/postgres-tick-store.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import {
  exactlyOnceProblems,
  FAST,
  readLedger,
  settled,
  startDaemon,
  TICKING,
  waitFor,
  type Ledger,
} from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-leaders-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const TRIGGER = "ticking/every-2s";

async function twoDaemons(home: string, env: Record<string, string>, read: () => Promise<Ledger>): Promise<void> {
  const a = startDaemon(home, [TICKING, ...FAST], env);
  const b = startDaemon(home, [TICKING, ...FAST], env);
  const logs = () => `--- a ---\n${a.log()}\n--- b ---\n${b.log()}`;
  try {
    await waitFor("two ticks run", async () => settled(await read(), 2), 60_000, logs);
    const leader = /leading/.test(a.log()) ? a : b;
    const standby = leader === a ? b : a;
    expect(standby.log()).not.toMatch(/leading/);
    leader.child.kill("SIGKILL");
    await leader.exited;
    const before = (await read()).ticks.length;
    await waitFor(
      "the standby to take over and run three more ticks",
      async () => settled(await read(), before + 3),
      60_000,
      logs,
    );
    expect(standby.log()).toMatch(/leading \(took over from pid \d+/);
  } finally {
    for (const d of [a, b]) d.child.kill("SIGTERM");
    await Promise.all([a.exited, b.exited]);
  }
  const ledger = await read();
  expect(exactlyOnceProblems(ledger, 2000), logs()).toEqual([]);
}

describe("two daemons, one ledger", () => {
  it("SQLite home: one leader at a time, exactly one run per tick across a kill -9 takeover", async () => {
    const home = path.join(root, "sqlite");
    await twoDaemons(home, {}, () => readLedger(home, TRIGGER));
  }, 180_000);

  requireTools("postgresql").describe("PostgreSQL", () => {
    let server: TestPostgres;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("one database: one leader at a time, exactly one run per tick across a kill -9 takeover", async () => {
      const url = await server.createDatabase("daemons");
      const home = path.join(root, "pg");
      const open = async () => {
        const meta = await PostgresMetadataStore.open({ url });
        const store = new PostgresTickStore(meta);
        return { store, runs: () => meta.listRuns({ limit: 10_000 }), close: () => meta.close() };
      };
      await twoDaemons(home, { TRAINYARD_METADATA_URL: url }, () => readLedger(home, TRIGGER, open));
    }, 240_000);
  });
});
