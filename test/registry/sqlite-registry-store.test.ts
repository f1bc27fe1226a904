import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { SQLITE_MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { REGISTRY_MIGRATIONS } from "../../src/store/sqlite-registry-migrations.js";
import { SqliteRegistryStore } from "../../src/store/sqlite-registry-store.js";
import { describeRegistryStore, digestOf, versionInput } from "./registry-conformance.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-registry-"));
let n = 0;
const freshFile = () => path.join(root, `db-${n++}`, "metadata.db");
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describeRegistryStore("sqlite (file)", () => SqliteRegistryStore.open(freshFile()));

describe("SqliteRegistryStore specifics", () => {
  it("tracks its migrations apart from the metadata store's, each applied once", async () => {
    const file = freshFile();
    for (let i = 0; i < 3; i++) await SqliteRegistryStore.open(file).close();
    const db = new Database(file, { readonly: true });
    try {
      const reg = db.prepare("SELECT version FROM registry_migrations ORDER BY version").all() as Array<{
        version: number;
      }>;
      const meta = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as Array<{
        version: number;
      }>;
      expect(reg.map((r) => r.version)).toEqual(REGISTRY_MIGRATIONS.map((_, i) => i + 1));
      expect(meta.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      db.close();
    }
  });

  it("pins the model artifact and reference profile so gc keeps them", async () => {
    const meta = new SqliteMetadataStore(freshFile());
    const reg = new SqliteRegistryStore(meta);
    try {
      await reg.registerVersion(versionInput("flights", "a"));
      const pinned = await meta.pinnedDigests();
      expect(pinned.has(digestOf("flights:a"))).toBe(true);
      expect(pinned.has(digestOf("profile-a"))).toBe(true);
      const owners = meta.database
        .prepare("SELECT owner FROM pins WHERE digest = ?")
        .all(digestOf("flights:a")) as Array<{ owner: string }>;
      expect(owners.map((o) => o.owner)).toEqual(["model:flights@1"]);
    } finally {
      await reg.close();
      await meta.close();
    }
  });

  it("keeps versions and aliases after the file is closed and reopened", async () => {
    const file = freshFile();
    const a = SqliteRegistryStore.open(file);
    await a.registerVersion(versionInput("flights", "a"));
    await a.setAlias("flights", "production", 1, { actor: "run:r1" });
    await a.close();
    const b = SqliteRegistryStore.open(file);
    try {
      expect((await b.getVersion("flights", "production"))?.runId).toBe("run-a");
      expect(await b.aliasHistory("flights")).toHaveLength(1);
    } finally {
      await b.close();
    }
  });

  it("gives gap-free distinct versions to several processes registering at once", async () => {
    const file = freshFile();
    await SqliteRegistryStore.open(file).close();
    const storeModule = JSON.stringify(path.resolve("src/store/sqlite-registry-store.ts"));
    const script = `
      const { SqliteRegistryStore } = await import(${storeModule});
      const s = SqliteRegistryStore.open(process.argv[1]);
      for (let i = 0; i < 15; i++) await s.registerVersion({ model: "m", artifactDigest: process.argv[2] + "-" + i });
      await s.close();`;
    const run = promisify(execFile);
    await Promise.all(
      [0, 1, 2, 3].map((p) =>
        run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, file, `p${p}`]),
      ),
    );
    const s = SqliteRegistryStore.open(file);
    try {
      const versions = (await s.listVersions("m")).map((v) => v.version).sort((x, y) => x - y);
      expect(versions).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    } finally {
      await s.close();
    }
  });
});
