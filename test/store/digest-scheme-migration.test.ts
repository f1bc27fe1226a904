/**
 * A home written by the version before digests named their scheme (the fixture was made by that
 * version's CLI running fixtures' pipeline.ts: a small file, a directory and a model directory, a
 * 64 MiB file, a JSON value stored as an object, and a step consuming all of them) opens, is
 * upgraded once, and reuses every step from the cache, on SQLite and on PostgreSQL.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDigest } from "../../src/core/digest-format.js";
import { checkStore } from "../../src/engine/fsck.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { sqliteNativeBinding } from "../../src/store/sqlite-metadata-store.js";
import { cli, type RunSummary } from "../cli/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "home-before-digest-schemes.tgz");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function extractLegacyHome(): { home: string; module: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ty-legacy-"));
  dirs.push(dir);
  execFileSync("tar", ["xzf", FIXTURE, "-C", dir]);
  return { home: path.join(dir, "home"), module: path.join(dir, "pipeline.ts") };
}

async function expectUpgraded(ty: Trainyard, home: string, module: string, extraArgs: string[] = []): Promise<void> {
  const artifacts = await ty.metadata.listArtifacts();
  expect(artifacts.length).toBe(10);
  for (const a of artifacts) expect(isDigest(a.digest), a.digest).toBe(true);
  const schemes = artifacts.map((a) => `${a.kind}:${a.digest.slice(0, a.digest.indexOf(":"))}`).sort();
  // The directory and the model directory are trees, the 64 MiB file a block digest, the rest sha256.
  expect(schemes.filter((s) => !s.startsWith("json:"))).toEqual([
    "directory:sha256-tree",
    "file:sha256",
    "file:sha256",
    "file:sha256-blocks-8m",
    "model:sha256-tree",
  ]);
  expect(fs.readdirSync(path.join(home, "artifacts", "objects")).sort()).toContain("sha256-tree");

  // Run as the fixture was made, by the CLI: the code fingerprints match that run's.
  const args = ["run", module, "--json", ...extraArgs];
  const result = await cli(args, home);
  expect(result.code, result.stderr).toBe(0);
  const run = JSON.parse(result.stdout) as RunSummary;
  expect(run.steps.map((s) => [s.step, s.cached])).toEqual(run.steps.map((s) => [s.step, true]));

  // Handles inside the value stored before the upgrade read with their schemes, and verify.
  const out = (await ty.output(run.runId, "combine")) as { parts: Record<string, { digest: string }> };
  expect(out.parts.big.digest).toMatch(/^sha256-blocks-8m:/);
  expect(out.parts.tree.digest).toMatch(/^sha256-tree:/);
  expect(out.parts.small.digest).toMatch(/^sha256:/);
  for (const part of Object.values(out.parts)) await ty.verifiedPath(part.digest);
  const fsck = await checkStore(ty);
  expect([fsck.corrupt, fsck.missing]).toEqual([[], []]);
  // The fixture's six objects, and the pipeline bundle this run stored (workers load it by digest).
  expect(fsck.objects).toBe(7);
}

describe("homes written before digests named their scheme", () => {
  it("upgrade once on SQLite: objects by scheme, digests named, cached steps still cached", async () => {
    const { home, module } = extractLegacyHome();
    const ty = await Trainyard.open({ home });
    try {
      await expectUpgraded(ty, home, module);
    } finally {
      await ty.close();
    }
    const db = new Database(path.join(home, "metadata.db"), { nativeBinding: sqliteNativeBinding() });
    try {
      const legacy = db.prepare(`SELECT count(*) AS n FROM lineage WHERE digest NOT LIKE '%:%'`).get() as { n: number };
      expect(legacy.n).toBe(0);
      expect((db.prepare(`SELECT count(*) AS n FROM digest_schemes`).get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
    // A second open finds the marker and changes nothing.
    const again = await cli(["run", module, "--json"], home);
    expect((JSON.parse(again.stdout) as RunSummary).steps.every((s) => s.cached)).toBe(true);
  });

  it("finishes an upgrade cut short: objects an earlier try already moved keep their scheme", async () => {
    const { home, module } = extractLegacyHome();
    // As a process killed after moving the tree objects, before it named a digest, leaves the home.
    const objects = path.join(home, "artifacts", "objects");
    let moved = 0;
    for (const prefix of fs.readdirSync(objects).filter((p) => /^[0-9a-f]{1,2}$/.test(p)))
      for (const hex of fs.readdirSync(path.join(objects, prefix))) {
        const from = path.join(objects, prefix, hex);
        if (!fs.statSync(from).isDirectory()) continue;
        fs.mkdirSync(path.join(objects, "sha256-tree", prefix), { recursive: true });
        fs.chmodSync(from, 0o755);
        fs.renameSync(from, path.join(objects, "sha256-tree", prefix, hex));
        moved++;
      }
    expect(moved).toBeGreaterThan(0);
    const ty = await Trainyard.open({ home });
    try {
      await expectUpgraded(ty, home, module);
    } finally {
      await ty.close();
    }
  });

  it("upgrades once when several processes open the same home at the same moment", async () => {
    const { home } = extractLegacyHome();
    // Each open checks for the marker, then waits for the write lock: whoever comes second finds it done.
    const opened = await Promise.all([0, 1, 2, 3].map(() => cli(["runs", "--json"], home)));
    for (const r of opened) expect(r.code, r.stderr).toBe(0);
    const db = new Database(path.join(home, "metadata.db"), { nativeBinding: sqliteNativeBinding() });
    try {
      expect((db.prepare(`SELECT count(*) AS n FROM digest_schemes`).get() as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
  });
});

const postgres = requireTools("postgresql");
postgres.describe("homes written before digest schemes, with PostgreSQL metadata", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("upgrade once: the same rows, copied into PostgreSQL, gain their schemes and keep their cache keys", async () => {
    const { home, module } = extractLegacyHome();
    const url = await server.createDatabase("legacy_digests");
    // The tables of that version, made by the store; the fixture's rows copied in as they were.
    await (await PostgresMetadataStore.open({ url })).close();
    const source = new Database(path.join(home, "metadata.db"), { nativeBinding: sqliteNativeBinding() });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const table of ["pipelines", "runs", "step_runs", "attempts", "artifacts", "lineage", "pins"]) {
        for (const row of source.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]) {
          const cols = Object.keys(row);
          const values = cols.map((c) => (table === "step_runs" && c === "cached" ? row[c] === 1 : row[c]));
          await client.query(
            `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`,
            values,
          );
        }
      }
    } finally {
      source.close();
      await client.end();
    }
    fs.rmSync(path.join(home, "metadata.db"));
    const ty = await Trainyard.open({ home, metadata: { kind: "postgres", url } });
    try {
      await expectUpgraded(ty, home, module, ["--metadata-url", url]);
    } finally {
      await ty.close();
    }
  });
});
