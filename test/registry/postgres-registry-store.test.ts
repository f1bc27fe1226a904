/**
 * The registry conformance suite, concurrent writers, and a PostgreSQL-backed home end to end
 * (library and `trainyard models` CLI), on a real PostgreSQL server started for this file
 * (test/support/postgres.ts). Each store gets its own schema, so every test starts empty.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias, rollbackAlias } from "../../src/lib/registry/index.js";
import { deploy, register } from "../../src/lib/registry/registry-steps.js";
import { PostgresMetadataStore } from "../../src/store/postgres-metadata-store.js";
import { POSTGRES_MIGRATIONS } from "../../src/store/postgres-migrations.js";
import { POSTGRES_REGISTRY_MIGRATIONS } from "../../src/store/postgres-registry-migrations.js";
import { PostgresRegistryStore } from "../../src/store/postgres-registry-store.js";
import type { ModelArtifact } from "../../src/core/artifacts.js";
import type { GatesResult } from "../../src/lib/gates/gates-step.js";
import type { ModelVersionRecord } from "../../src/store/registry-store.js";
import { AnswerDroppingProxy } from "../support/answer-dropping-proxy.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { demoPipeline, trainAndRegister } from "./model-home.js";
import { describeRegistryStore, digestOf, versionInput } from "./registry-conformance.js";

const postgres = requireTools("postgresql");

let server: TestPostgres;
let n = 0;
const freshSchema = () => `registry_${n++}`;

async function query(url: string, sql: string, args: unknown[] = []): Promise<Array<Record<string, any>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, args)).rows;
  } finally {
    await client.end();
  }
}

postgres.describe("PostgresRegistryStore", () => {
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeRegistryStore("postgres", () => PostgresRegistryStore.open({ url: server.url, schema: freshSchema() }));

  describe("specifics", () => {
    it("applies a change once when its COMMIT's answer was lost: the transaction finds it committed", async () => {
      const { hostname, port } = new URL(server.url);
      const proxy = await AnswerDroppingProxy.start({ host: hostname, port: Number(port) });
      const url = new URL(server.url);
      url.port = String(proxy.port);
      const s = await PostgresRegistryStore.open({ url: url.href, schema: freshSchema() });
      try {
        for (const l of ["a", "b", "c"]) await s.registerVersion(versionInput("flights", l));
        for (const v of [1, 2, 3]) await s.setAlias("flights", "production", v);
        proxy.dropAnswerTo(AnswerDroppingProxy.simpleQuery("COMMIT"));
        // Run twice, a rollback would go on to version 1.
        expect((await s.rollback("flights", "production")).alias.version).toBe(2);
        expect(proxy.dropped).toBe(1);
        expect((await s.getAlias("flights", "production"))?.version).toBe(2);
        const history = await s.aliasHistory("flights", "production");
        expect(history.map((e) => e.action)).toEqual(["set", "set", "set", "rollback"]);
        proxy.dropAnswerTo(AnswerDroppingProxy.simpleQuery("COMMIT"));
        // Run twice, a deletion would fail: the alias is gone.
        expect((await s.deleteAlias("flights", "production")).action).toBe("delete");
        expect(proxy.dropped).toBe(2);
        expect(await s.getAlias("flights", "production")).toBeUndefined();
        // A batch of prediction logs (appended rows) is written once.
        proxy.dropAnswerTo(AnswerDroppingProxy.simpleQuery("COMMIT"));
        const entry = { model: "flights", version: 2, alias: "production", ts: 1, input: {}, output: 1, latencyMs: 2 };
        await s.appendPredictionLogs([entry, { ...entry, ts: 2 }]);
        expect(proxy.dropped).toBe(3);
        expect((await s.listPredictionLogs({ model: "flights" })).map((e) => e.ts).sort()).toEqual([1, 2]);
      } finally {
        await s.close();
        await proxy.stop();
      }
    });

    it("tracks its migrations apart from the metadata store's, each applied once under concurrent opens", async () => {
      const schema = freshSchema();
      const stores = await Promise.all([0, 1, 2].map(() => PostgresRegistryStore.open({ url: server.url, schema })));
      await Promise.all(stores.map((s) => s.close()));
      const reg = await query(server.url, `SELECT version FROM ${schema}.registry_migrations ORDER BY version`);
      const meta = await query(server.url, `SELECT version FROM ${schema}.trainyard_migrations ORDER BY version`);
      expect(reg.map((r) => r.version)).toEqual(POSTGRES_REGISTRY_MIGRATIONS.map((_, i) => i + 1));
      expect(meta.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
    });

    it("pins the model artifact and reference profile where the metadata store's gc reads them", async () => {
      const meta = await PostgresMetadataStore.open({ url: server.url, schema: freshSchema() });
      const reg = new PostgresRegistryStore(meta);
      try {
        await reg.registerVersion(versionInput("flights", "a"));
        await reg.registerVersion(versionInput("flights", "a")); // re-registering keeps one pin
        const pinned = await meta.pinnedDigests();
        expect(pinned.has(digestOf("flights:a"))).toBe(true);
        expect(pinned.has(digestOf("profile-a"))).toBe(true);
        const owners = (
          await meta.connectionPool.query(`SELECT owner FROM pins WHERE digest = $1`, [digestOf("flights:a")])
        ).rows;
        expect(owners.map((o) => o.owner)).toEqual(["model:flights@1"]);
      } finally {
        await reg.close();
        await meta.close();
      }
    });

    it("keeps versions and aliases after reopening", async () => {
      const schema = freshSchema();
      const a = await PostgresRegistryStore.open({ url: server.url, schema });
      await a.registerVersion(versionInput("flights", "a"));
      await a.setAlias("flights", "production", 1, { actor: "run:r1" });
      await a.close();
      const b = await PostgresRegistryStore.open({ url: server.url, schema });
      try {
        expect((await b.getVersion("flights", "production"))?.runId).toBe("run-a");
        expect(await b.aliasHistory("flights")).toHaveLength(1);
        expect(await b.aliasRevision()).toBe(1);
      } finally {
        await b.close();
      }
    });

    it("gives gap-free distinct versions to several connection pools registering at once", async () => {
      const schema = freshSchema();
      await (await PostgresRegistryStore.open({ url: server.url, schema })).close();
      const writers = await Promise.all(
        [0, 1, 2, 3].map(() => PostgresRegistryStore.open({ url: server.url, schema, maxConnections: 3 })),
      );
      try {
        // Each writer registers 15 new artifacts and, in between, one artifact every writer registers.
        await Promise.all(
          writers.map(async (w, p) => {
            for (let i = 0; i < 15; i++) {
              await Promise.all([
                w.registerVersion({ model: "m", artifactDigest: `p${p}-${i}` }),
                i % 5 === 0 ? w.registerVersion({ model: "m", artifactDigest: `shared-${i}` }) : undefined,
              ]);
            }
          }),
        );
        const versions = await writers[0].listVersions("m");
        expect(versions.map((v) => v.version).sort((x, y) => x - y)).toEqual(
          Array.from({ length: 63 }, (_, i) => i + 1),
        );
        expect(new Set(versions.map((v) => v.artifactDigest)).size).toBe(63);
      } finally {
        await Promise.all(writers.map((w) => w.close()));
      }
    });

    it("keeps alias history a chain and the revision in commit order under concurrent moves", async () => {
      const schema = freshSchema();
      const setup = await PostgresRegistryStore.open({ url: server.url, schema });
      for (const model of ["a", "b"])
        for (const l of ["1", "2", "3"]) await setup.registerVersion(versionInput(model, l));
      await setup.close();
      const writers = await Promise.all(
        [0, 1, 2, 3].map(() => PostgresRegistryStore.open({ url: server.url, schema, maxConnections: 3 })),
      );
      // A watcher that sees revision r must find every move up to r already in the history.
      const seen: number[] = [];
      const missed: string[] = [];
      let moving = true;
      const watch = (async () => {
        while (moving) {
          const r = await writers[0].aliasRevision();
          const ids = new Set(
            [...(await writers[0].aliasHistory("a")), ...(await writers[0].aliasHistory("b"))].map((e) => e.id),
          );
          for (let id = 1; id <= r; id++) if (!ids.has(id)) missed.push(`${id} of ${r}`);
          seen.push(r);
        }
      })();
      try {
        await Promise.all(
          writers.map(async (w, p) => {
            for (let i = 0; i < 12; i++) {
              const model = (p + i) % 2 ? "a" : "b";
              if (i % 4 === 3)
                await w
                  .rollback(model, "production")
                  .catch((e: { code?: string }) => expect(["NO_ROLLBACK_TARGET", "NOT_FOUND"]).toContain(e.code));
              else await w.setAlias(model, "production", ((p + i) % 3) + 1, { actor: `user:${p}` });
            }
          }),
        );
      } finally {
        moving = false;
        await watch;
      }
      try {
        const events = [...(await writers[1].aliasHistory("a")), ...(await writers[1].aliasHistory("b"))].sort(
          (x, y) => x.id - y.id,
        );
        // Every move saw the one before it: it left the version the previous move set.
        for (const model of ["a", "b"]) {
          const own = events.filter((e) => e.model === model);
          own.forEach((e, i) => expect(e.fromVersion).toBe(i === 0 ? undefined : own[i - 1].toVersion));
          expect((await writers[1].getAlias(model, "production"))?.version).toBe(own.at(-1)?.toVersion);
        }
        // One revision per move, none skipped, and a watcher never saw it go backwards.
        expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
        expect(await writers[1].aliasRevision()).toBe(events.length);
        expect(seen).toEqual([...seen].sort((x, y) => x - y));
        expect(new Set(seen).size).toBeGreaterThan(2);
        expect(missed).toEqual([]);
      } finally {
        await Promise.all(writers.map((w) => w.close()));
      }
    });

    it("makes a revision visible only once every move numbered before it is", async () => {
      const schema = freshSchema();
      const [a, b] = await Promise.all([0, 1].map(() => PostgresRegistryStore.open({ url: server.url, schema })));
      try {
        await a.registerVersion(versionInput("slow", "1"));
        await a.registerVersion(versionInput("fast", "1"));
        // Keeps the move of model "slow" open for a while after it recorded its event.
        await query(
          server.url,
          `CREATE FUNCTION ${schema}.hold_move() RETURNS trigger LANGUAGE plpgsql ` +
            `AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$`,
        );
        await query(
          server.url,
          `CREATE TRIGGER hold_move AFTER INSERT ON ${schema}.registry_alias_history FOR EACH ROW WHEN ` +
            `(NEW.model = 'slow') EXECUTE FUNCTION ${schema}.hold_move()`,
        );
        let pending = 2;
        const done = () => void pending--;
        const slow = a.setAlias("slow", "production", 1).finally(done);
        await new Promise((r) => setTimeout(r, 100));
        const fast = b.setAlias("fast", "production", 1).finally(done);
        const missed: string[] = [];
        while (pending > 0) {
          const r = await a.aliasRevision();
          const ids = new Set([...(await a.aliasHistory("slow")), ...(await a.aliasHistory("fast"))].map((e) => e.id));
          for (let id = 1; id <= r; id++) if (!ids.has(id)) missed.push(`${id} of ${r}`);
          await new Promise((res) => setTimeout(res, 20));
        }
        expect([(await slow).event?.id, (await fast).event?.id]).toEqual([1, 2]);
        expect(missed).toEqual([]);
        expect(await a.aliasRevision()).toBe(2);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("keeps prediction inputs with NUL characters and unusual JSON", async () => {
      const s = await PostgresRegistryStore.open({ url: server.url, schema: freshSchema() });
      try {
        const input = { text: "a\0b", quote: "\"'\\", list: [1, null, { x: "é" }] };
        await s.appendPredictionLogs([
          { model: "m", version: 1, alias: "production", ts: 1.25, input, output: [0.1, 0.9], latencyMs: 0.3 },
        ]);
        expect(await s.listPredictionLogs({ model: "m" })).toEqual([
          { model: "m", version: 1, alias: "production", ts: 1.25, input, output: [0.1, 0.9], latencyMs: 0.3 },
        ]);
        await s.recordDeployHook({ eventId: 1, hook: "cmd", ok: false, detail: "out\0put", at: 2 });
        expect((await s.listDeployHooks(1))[0].detail).toBe("out\uFFFDput");
      } finally {
        await s.close();
      }
    });
  });

  describe("a PostgreSQL-backed home", () => {
    let home: string;
    let url: string;
    let ty: Trainyard;
    let versions: ModelVersionRecord[];

    beforeAll(async () => {
      // The CLI puts a home's metadata in the database's default schema, so the home gets a database.
      url = await server.createDatabase("registry_home");
      home = fs.mkdtempSync(path.join(os.tmpdir(), "ty-pg-models-"));
      ty = await Trainyard.open({ home, metadata: { kind: "postgres", url } });
      versions = [
        await trainAndRegister(ty, "lin", 2),
        await trainAndRegister(ty, "lin", 3, [
          { gate: "latency_p99 <= 5ms", status: "fail", message: "p99 7.2 ms > 5 ms" },
        ]),
      ];
    });
    afterAll(async () => {
      await ty?.close();
      if (home) fs.rmSync(home, { recursive: true, force: true });
    });

    function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        const env = { ...process.env, NO_COLOR: "1", TRAINYARD_METADATA_URL: url };
        execFile(process.execPath, ["bin/trainyard.js", ...args, "--home", home], { env }, (err, stdout, stderr) => {
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
      });
    }

    it("registers and promotes with the registry library, with the records in PostgreSQL", async () => {
      const reg = openRegistry(ty);
      expect(reg.backend).toBe("postgres");
      expect(versions.map((v) => [v.version, v.dataDigests.length > 0])).toEqual([
        [1, true],
        [2, true],
      ]);
      const before = await reg.aliasRevision();
      const promoted = await promoteAlias(ty, "lin", "staging", 1, { actor: "run:test", hooks: [] });
      expect(promoted.event).toMatchObject({ action: "set", toVersion: 1, actor: "run:test" });
      await expect(promoteAlias(ty, "lin", "staging", 2, { hooks: [] })).rejects.toMatchObject({ code: "GATE_FAILED" });
      expect(
        (await promoteAlias(ty, "lin", "staging", 2, { force: true, reason: "test", hooks: [] })).event?.forced,
      ).toBe(true);
      expect((await rollbackAlias(ty, "lin", "staging", { hooks: [] })).alias.version).toBe(1);
      expect(await reg.aliasRevision()).toBe(before + 3);
      expect(fs.existsSync(path.join(home, "metadata.db"))).toBe(false);
      expect(
        (await query(url, `SELECT alias, version FROM registry_aliases`)).map((r) => [r.alias, r.version]),
      ).toEqual([["staging", 1]]);
    });

    it("runs the register and deploy steps of a pipeline against the same database", async () => {
      const p = demoPipeline();
      const model = p.ref<{ model: ModelArtifact }>("train").pick("model");
      const gates = p.step("gates", {
        run: (): GatesResult => ({
          passed: true,
          verdicts: [{ gate: "rmse <= 1", kind: "metric", status: "pass", message: "0.1 <= 1", evidence: {} }],
        }),
      });
      const registered = register(p, "register", { name: "piped", model, gates });
      deploy(p, "deploy", { registered, alias: "production" });
      // The steps open the home again by its path alone, and must land in this database.
      const r = await ty.run(p, { params: { slope: 5 } });
      expect(r.status).toBe("succeeded");
      const reg = openRegistry(ty);
      expect(await reg.getVersion("piped", "production")).toMatchObject({ model: "piped", version: 1, runId: r.runId });
      expect(fs.existsSync(path.join(home, "metadata.db"))).toBe(false);
    });

    it("lists, promotes, refuses a failed gate unless forced, and rolls back through `trainyard models`", async () => {
      expect((await cli("models", "list")).stdout).toMatch(/lin\s+2\s+2/);
      expect((await cli("models", "promote", "lin@1", "--alias", "production")).stdout).toContain(
        "lin@production: ∅ → 1",
      );
      const refused = await cli("models", "promote", "lin@2", "--alias", "production");
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("error[GATE_FAILED]");
      const forced = await cli(
        "models",
        "promote",
        "lin@2",
        "--alias",
        "production",
        "--force",
        "--reason",
        "hotfix",
        "--actor",
        "user:ana",
      );
      expect(forced.stdout).toContain("1 → 2 (forced past failed gates)");
      expect((await cli("models", "rollback", "lin", "--alias", "production")).stdout).toContain("2 → 1");
      const shown = JSON.parse((await cli("models", "show", "lin", "--json")).stdout);
      expect(shown.aliases).toEqual({ production: 1, staging: 1 });
      expect(
        shown.history
          .filter((e: { alias: string }) => e.alias === "production")
          .map((e: { action: string; toVersion: number; forced: boolean }) => [e.action, e.toVersion, e.forced]),
      ).toEqual([
        ["set", 1, false],
        ["set", 2, true],
        ["rollback", 1, false],
      ]);
      expect((await cli("lineage", "lin@1")).stdout).toContain("written by raw");
    });

    it("keeps registered models through gc of every run", async () => {
      const r = await ty.gc({ keepLast: 0, graceMs: 0 });
      // The two demo runs, and the run that registered and deployed "piped": each holds the
      // lineage of a registered version, so none goes.
      expect(r.runsRemoved).toEqual([]);
      expect(r.runsKeptForModels.length).toBe(3);
      for (const v of versions) expect(fs.existsSync(await ty.artifacts.localPath(v.artifactDigest))).toBe(true);
      expect((await cli("models", "show", "lin@production")).stdout).toContain("lin@1 (production, staging)");
      expect((await cli("lineage", "lin@1")).stdout).toContain("written by raw");
    });
  });
});
