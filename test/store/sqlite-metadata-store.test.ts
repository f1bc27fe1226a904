import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SQLITE_MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { artifactRecord, describeMetadataStore, fakeDigest, runRecord, stepRunRecord } from "./metadata-conformance.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-sqlite-"));
let n = 0;
const freshFile = () => path.join(root, `db-${n++}`, "metadata.db");

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describeMetadataStore("sqlite (file)", () => new SqliteMetadataStore(freshFile()));

describe("SqliteMetadataStore specifics", () => {
  it("keeps everything after the database file is closed and reopened", async () => {
    const file = freshFile();
    const a = new SqliteMetadataStore(file);
    await a.createRun(runRecord("r1", { status: "succeeded" }));
    await a.completeStepRuns([
      {
        stepRun: stepRunRecord("r1", "train", { outputDigest: fakeDigest("o"), cacheKey: "K" }),
        artifacts: [{ record: artifactRecord(fakeDigest("o")), bytes: new Uint8Array(Buffer.from("42")) }],
        lineage: [
          {
            stepRunId: "r1:train",
            runId: "r1",
            stepId: "train",
            digest: fakeDigest("o"),
            direction: "out",
            name: "output",
            reused: false,
          },
        ],
      },
    ]);
    await a.putStat({ path: "/x", size: 1, mtimeMs: 2, ino: 3, digest: fakeDigest("x") });
    await a.close();

    const b = new SqliteMetadataStore(file);
    try {
      expect((await b.getRun("r1"))?.status).toBe("succeeded");
      expect((await b.findByCacheKey("K"))?.id).toBe("r1:train");
      expect(Buffer.from((await b.getInlineBytes(fakeDigest("o")))!).toString()).toBe("42");
      expect(await b.lineageOf(fakeDigest("o"))).toHaveLength(1);
      expect((await b.getStat("/x"))?.digest).toBe(fakeDigest("x"));
    } finally {
      await b.close();
    }
  });

  it("applies each migration once, however often the database is opened", async () => {
    const file = freshFile();
    for (let i = 0; i < 3; i++) await new SqliteMetadataStore(file).close();
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as Array<{
        version: number;
      }>;
      expect(rows.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      db.close();
    }
  });

  it("uses write-ahead logging so readers in other processes do not block a run", async () => {
    const file = freshFile();
    const s = new SqliteMetadataStore(file);
    await s.close();
    const db = new Database(file, { readonly: true });
    try {
      expect(String(db.pragma("journal_mode", { simple: true })).toLowerCase()).toBe("wal");
    } finally {
      db.close();
    }
  });

  it("lets two connections to one file see each other's writes", async () => {
    const file = freshFile();
    const a = new SqliteMetadataStore(file);
    const b = new SqliteMetadataStore(file);
    try {
      await a.createRun(runRecord("shared"));
      expect((await b.getRun("shared"))?.id).toBe("shared");
      await b.updateRun("shared", { status: "cancelled" });
      expect((await a.getRun("shared"))?.status).toBe("cancelled");
    } finally {
      await a.close();
      await b.close();
    }
  });
});
