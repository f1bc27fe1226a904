/** SQL sensors on real engines: DuckDB over CSV and Parquet files, a SQLite file, a throwaway PostgreSQL. */
import fs from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledTrigger, type SqlSensorSpec } from "../../src/core/triggers.js";
import { evaluateTrigger, type TriggerEvaluation } from "../../src/daemon/evaluate-trigger.js";
import { withConnection } from "../../src/lib/data/duck.js";
import { rejectionOf, useHomes } from "../engine/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";

const homes = useHomes();
type Params = { month: string; rows: number };
const params = z.object({ month: z.string().default("2001-01"), rows: z.number().default(0) });

function sensorOf(spec: SqlSensorSpec<Params>): CompiledTrigger {
  const [t] = compileTriggers(pipeline("landing-db", { params }).sensor("db", spec));
  return t;
}

/** Evaluates as the daemon would: the cursor goes through JSON between evaluations. */
async function evaluate(t: CompiledTrigger, cursor: unknown, moduleDir: string): Promise<TriggerEvaluation> {
  const r = await evaluateTrigger(t, cursor, Date.now(), { moduleDir });
  return JSON.parse(JSON.stringify(r)) as TriggerEvaluation;
}

describe("SQL sensor on DuckDB over files", () => {
  it("requests a run when max(month) of the landed CSV files moves, and deduplicates the same result", async () => {
    const dir = homes.tempDir("ty-sql-duck-");
    fs.mkdirSync(path.join(dir, "landing"));
    fs.writeFileSync(path.join(dir, "landing", "2001-01.csv"), "month,delay\n2001-01,3\n2001-01,20\n");
    // A relative path in the query is read from the pipeline module's folder, not the daemon's cwd.
    const t = sensorOf({
      sql: { engine: "duckdb", query: "SELECT max(month) AS watermark, count(*) AS n FROM read_csv('landing/*.csv')" },
      cursorColumn: "watermark",
      paramsFrom: { month: "watermark", rows: "n" },
    });
    const first = await evaluate(t, null, dir);
    expect(first.requests).toEqual([
      expect.objectContaining({
        trigger: "db",
        kind: "sensor",
        params: { month: "2001-01", rows: 2 },
      }),
    ]);
    expect(first.requests[0].reason).toContain('watermark changed to "2001-01" (first result)');
    const same = await evaluate(t, first.cursor, dir);
    expect(same.requests).toEqual([]);
    expect(same.skips).toEqual([
      { reason: "same-result", message: expect.stringContaining('watermark = "2001-01" again') },
    ]);
    fs.writeFileSync(path.join(dir, "landing", "2001-02.csv"), "month,delay\n2001-02,7\n");
    const moved = await evaluate(t, same.cursor, dir);
    expect(moved.requests.map((r) => r.params)).toEqual([{ month: "2001-02", rows: 3 }]);
    expect(moved.requests[0].reason).toContain('(was "2001-01")');
    expect(moved.requests[0].key).not.toBe(first.requests[0].key);
  });

  it("keys each new row of a Parquet file by its key column", async () => {
    const dir = homes.tempDir("ty-sql-parquet-");
    const file = path.join(dir, "partitions.parquet");
    const write = (months: string[]) =>
      withConnection(async (con) => {
        const values = months.map((m) => `('${m}')`).join(", ");
        await con.run(`COPY (SELECT * FROM (VALUES ${values}) AS t(month)) TO '${file}' (FORMAT parquet)`);
      });
    await write(["2001-01", "2001-02"]);
    const t = sensorOf({
      sql: { engine: "duckdb", query: "SELECT month FROM 'partitions.parquet' ORDER BY month" },
      keyColumn: "month",
      paramsFrom: { month: "month" },
    });
    const first = await evaluate(t, null, dir);
    expect(first.requests.map((r) => r.params.month)).toEqual(["2001-01", "2001-02"]);
    const same = await evaluate(t, first.cursor, dir);
    expect(same.requests).toEqual([]);
    expect(same.skips.map((s) => s.reason)).toEqual(["same-result"]);
    await write(["2001-01", "2001-02", "2001-03"]);
    const next = await evaluate(t, same.cursor, dir);
    expect(next.requests.map((r) => r.params.month)).toEqual(["2001-03"]);
    expect(next.requests[0].reason).toContain('new row month = "2001-03"');
    expect(next.skips).toEqual([expect.objectContaining({ reason: "seen-keys" })]);
  });

  it("reads a DuckDB database file attached read-only, relative to the module", async () => {
    const dir = homes.tempDir("ty-sql-duckfile-");
    const writer = await DuckDBInstance.create(path.join(dir, "warehouse.duckdb"));
    const con = await writer.connect();
    await con.run("CREATE TABLE loads AS SELECT '2001-04' AS month");
    con.closeSync();
    writer.closeSync();
    const t = sensorOf({
      sql: { engine: "duckdb", file: "warehouse.duckdb", query: "SELECT max(month) AS m FROM loads" },
      cursorColumn: "m",
      paramsFrom: { month: "m" },
    });
    const first = await evaluate(t, null, dir);
    expect(first.requests.map((r) => r.params)).toEqual([{ month: "2001-04" }]);
    // Attached under a temporary name and detached again: a second evaluation attaches afresh.
    expect((await evaluate(t, first.cursor, dir)).skips.map((s) => s.reason)).toEqual(["same-result"]);
  });

  it("fails a query that errors with TRIGGER_FAILED naming the trigger", async () => {
    const dir = homes.tempDir("ty-sql-bad-");
    const t = sensorOf({ sql: { engine: "duckdb", query: "SELECT max(month) AS m FROM read_csv('missing/*.csv')" } });
    const err = await rejectionOf(evaluateTrigger(t, null, Date.now(), { moduleDir: dir }));
    expect(err.code).toBe("TRIGGER_FAILED");
    expect(err.message).toMatch(/^sensor "db": the duckdb query failed: .*missing/);
    expect(err.fields?.trigger).toBe("db");
    const noColumn = sensorOf({ sql: { engine: "duckdb", query: "SELECT 1 AS x" }, cursorColumn: "watermark" });
    const missing = await rejectionOf(evaluateTrigger(noColumn, null, Date.now(), { moduleDir: dir }));
    expect(missing.message).toBe('sensor "db": the query\'s result has no column "watermark"');
    expect(missing.hint).toContain("its columns: x");
  });

  it("fails a result that maps to invalid params, as `trainyard run` would refuse them", async () => {
    const dir = homes.tempDir("ty-sql-params-");
    const t = sensorOf({ sql: { engine: "duckdb", query: "SELECT 'many' AS n" }, paramsFrom: { rows: "n" } });
    const err = await rejectionOf(evaluateTrigger(t, null, Date.now(), { moduleDir: dir }));
    expect(err.code).toBe("TRIGGER_FAILED");
    expect(err.message).toContain('sensor "db": the query\'s result maps to an invalid run: param "rows" is invalid');
  });
});

describe("SQL sensor on a SQLite file", () => {
  it("digests the whole result when no column is declared: same rows, no run; changed rows, one run", async () => {
    const dir = homes.tempDir("ty-sql-sqlite-");
    const file = path.join(dir, "warehouse.db");
    const db = new Database(file);
    db.exec("CREATE TABLE batches (id INTEGER PRIMARY KEY, month TEXT, loaded_at INTEGER)");
    db.prepare("INSERT INTO batches (month, loaded_at) VALUES (?, ?)").run("2001-01", 1_000);
    const t = sensorOf({
      sql: {
        engine: "sqlite",
        file: "warehouse.db",
        query: "SELECT month, loaded_at FROM batches ORDER BY id DESC LIMIT 1",
      },
      paramsFrom: { month: "month" },
    });
    const first = await evaluate(t, null, dir);
    expect(first.requests).toHaveLength(1);
    expect(first.requests[0].params).toEqual({ month: "2001-01" });
    expect(first.requests[0].event).toEqual(expect.objectContaining({ engine: "sqlite", rows: 1 }));
    const again = await evaluate(t, first.cursor, dir);
    expect(again.requests).toEqual([]);
    expect(again.skips[0]).toEqual({
      reason: "same-result",
      message: expect.stringContaining("same result as before"),
    });
    db.prepare("INSERT INTO batches (month, loaded_at) VALUES (?, ?)").run("2001-02", 2_000);
    const next = await evaluate(t, again.cursor, dir);
    expect(next.requests.map((r) => r.params)).toEqual([{ month: "2001-02" }]);
    db.close();
    // The sensor opened the file read-only: it never creates or writes it.
    fs.rmSync(file);
    const gone = await rejectionOf(evaluateTrigger(t, next.cursor, Date.now(), { moduleDir: dir }));
    expect(gone.message).toContain(`the database file ${file} does not exist`);
    expect(gone.hint).toContain("the sensor never creates it");
    expect(fs.existsSync(file)).toBe(false);
  });

  it("names the trigger when SQLite rejects the query", async () => {
    const dir = homes.tempDir("ty-sql-sqlite-bad-");
    new Database(path.join(dir, "w.db")).close();
    const t = sensorOf({ sql: { engine: "sqlite", file: "w.db", query: "SELECT max(x) FROM nowhere" } });
    const err = await rejectionOf(evaluateTrigger(t, null, Date.now(), { moduleDir: dir }));
    expect(err.code).toBe("TRIGGER_FAILED");
    expect(err.message).toBe('sensor "db": the sqlite query failed: no such table: nowhere');
    expect(err.hint).toContain(path.join(dir, "w.db"));
  });
});

const postgres = requireTools("postgresql");
postgres.describe("SQL sensor on PostgreSQL", () => {
  let server: TestPostgres;
  let client: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query("CREATE TABLE loads (month text, updated_at timestamptz, n bigint)");
  }, 120_000);
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  it("reads a watermark in a read-only transaction, deduplicates it, and fires when it moves", async () => {
    await client.query("INSERT INTO loads VALUES ('2001-01', '2001-02-01T00:00:00Z', 10)");
    const t = sensorOf({
      sql: {
        engine: "postgres",
        url: server.url,
        query: "SELECT max(updated_at) AS watermark, sum(n) AS rows FROM loads",
      },
      cursorColumn: "watermark",
    });
    const first = await evaluate(t, null, homes.tempDir());
    expect(first.requests).toHaveLength(1);
    expect(first.requests[0].event).toEqual(
      expect.objectContaining({
        engine: "postgres",
        value: "2001-02-01T00:00:00.000Z",
      }),
    );
    const same = await evaluate(t, first.cursor, homes.tempDir());
    expect(same.requests).toEqual([]);
    expect(same.skips.map((s) => s.reason)).toEqual(["same-result"]);
    await client.query("INSERT INTO loads VALUES ('2001-02', '2001-03-01T00:00:00Z', 5)");
    const moved = await evaluate(t, same.cursor, homes.tempDir());
    expect(moved.requests[0].reason).toContain('watermark changed to "2001-03-01T00:00:00.000Z"');

    await client.query("CREATE SEQUENCE batch_ids");
    const nextval = "SELECT nextval('batch_ids') AS id";
    const writer = sensorOf({ sql: { engine: "postgres", url: server.url, query: nextval } });
    const refused = await rejectionOf(evaluateTrigger(writer, null, Date.now(), { moduleDir: homes.tempDir() }));
    expect(refused.code).toBe("TRIGGER_FAILED");
    expect(refused.message).toContain("read-only transaction");
  });

  it("names the trigger when the server rejects the query, without printing the password", async () => {
    const url = server.url.replace("postgres@", "postgres:secret@");
    const t = sensorOf({ sql: { engine: "postgres", url, query: "SELECT max(x) FROM nowhere" } });
    const err = await rejectionOf(evaluateTrigger(t, null, Date.now(), { moduleDir: homes.tempDir() }));
    expect(err.message).toBe('sensor "db": the postgres query failed: relation "nowhere" does not exist');
    expect(err.hint).toContain("postgres:***@");
    expect(JSON.stringify(err.fields) + err.hint).not.toContain("secret");
  });
});
