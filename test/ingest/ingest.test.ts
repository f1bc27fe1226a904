/**
 * Ingestion of files, partitions and SQLite queries into Parquet, and the bad inputs that must
 * become DataErrors naming the file, row/line and column, with nothing left half-written.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { DataError } from "../../src/lib/data/data-error.js";
import { queryRows, withConnection } from "../../src/lib/data/duck.js";
import { ingest, type IngestSource } from "../../src/lib/data/ingest.js";
import { makeTempDir, writeTable } from "../data/temp-data.js";

const tmp = makeTempDir("ty-ingest-");
afterAll(() => tmp.cleanup());
let n = 0;
const out = () => tmp.path(`out-${++n}.parquet`);

async function failure(source: IngestSource, opts = {}): Promise<DataError> {
  const target = out();
  try {
    await ingest(source, target, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    // Nothing half-written: neither the output nor a temporary file remains.
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    return err as DataError;
  }
  throw new Error("expected a DataError");
}

const read = (path: string, sql = "SELECT * FROM t") =>
  withConnection((con) => queryRows(con, sql.replace("FROM t", `FROM read_parquet('${path}')`)));

describe("ingest files", () => {
  it("CSV -> Parquet with rows and schema", async () => {
    const f = tmp.path("a.csv");
    writeFileSync(f, "id,name,score\n1,ann,0.5\n2,bob,1.25\n3,,2\n");
    const res = await ingest({ path: f }, out());
    expect(res).toMatchObject({ rows: 3, files: [f] });
    expect(res.schema).toEqual([
      { name: "id", type: "BIGINT" },
      { name: "name", type: "VARCHAR" },
      { name: "score", type: "DOUBLE" },
    ]);
    expect(await read(res.path)).toEqual([
      { id: 1, name: "ann", score: 0.5 },
      { id: 2, name: "bob", score: 1.25 },
      { id: 3, name: null, score: 2 },
    ]);
  });

  it("a directory of Parquet partitions and a glob", async () => {
    const dir = tmp.path("parts");
    mkdirSync(dir);
    for (const m of [1, 2, 3])
      await writeTable(`${dir}/month-${m}.parquet`, { m: "INTEGER", v: "DOUBLE" }, [
        [m, m * 1.5],
        [m, m * 2],
      ]);
    writeFileSync(`${dir}/_SUCCESS`, "");
    const res = await ingest({ path: dir }, out());
    expect(res.rows).toBe(6);
    expect(res.files.map((f) => f.slice(dir.length + 1))).toEqual([
      "month-1.parquet",
      "month-2.parquet",
      "month-3.parquet",
    ]);
    const glob = await ingest({ path: `${dir}/month-[12].parquet` }, out());
    expect(glob.rows).toBe(4);
  });

  it("JSON lines and a JSON array", async () => {
    const jl = tmp.path("e.jsonl");
    writeFileSync(jl, '{"a":1,"b":"x"}\n{"a":2,"b":"y"}\n');
    expect((await ingest({ path: jl }, out())).rows).toBe(2);
    const ja = tmp.path("e.json");
    writeFileSync(ja, '[{"a":1.5},{"a":2.5},{"a":null}]');
    const res = await ingest({ path: ja }, out());
    expect(res).toMatchObject({ rows: 3, schema: [{ name: "a", type: "DOUBLE" }] });
  });

  it("CSV partitions read with the first partition's types; a bad value names its own file and line", async () => {
    const dir = tmp.path("csvparts");
    mkdirSync(dir);
    writeFileSync(`${dir}/p1.csv`, "id,v\n1,10\n2,20\n");
    writeFileSync(`${dir}/p2.csv`, "id,v\n3,30\n4,oops\n");
    const e = await failure({ path: dir });
    expect(e).toMatchObject({ code: "MIXED_TYPES", file: `${dir}/p2.csv`, line: 3 });
    writeFileSync(`${dir}/p2.csv`, "id,v\n3,30\n4,40\n");
    expect((await ingest({ path: dir }, out())).rows).toBe(4);
    writeFileSync(`${dir}/p3.csv`, "id,w\n5,50\n");
    expect(await failure({ path: dir })).toMatchObject({ code: "COLUMN_NOT_FOUND", file: `${dir}/p3.csv` });
  });
});

describe("bad input", () => {
  it("malformed CSV row", async () => {
    const f = tmp.path("ragged.csv");
    writeFileSync(f, "a,b,c\n1,2,3\n4,5\n6,7,8\n");
    expect(await failure({ path: f })).toMatchObject({ code: "MALFORMED_ROW", file: f, line: 3 });
  });

  it("NaN and Infinity name the file, row and column (also inside a later partition)", async () => {
    const f = tmp.path("nan.csv");
    writeFileSync(f, "a,b\n1,2.5\n2,inf\n3,nan\n");
    const e = await failure({ path: f });
    expect(e).toMatchObject({ code: "NON_FINITE_VALUE", file: f, row: 2, column: "b" });
    expect(e.message).toContain("2 non-finite");
    expect((await ingest({ path: f }, out(), { allowNonFinite: true })).rows).toBe(3);
    const dir = tmp.path("nanparts");
    mkdirSync(dir);
    await writeTable(`${dir}/1.parquet`, { x: "DOUBLE" }, [[1], [2], [3]]);
    await writeTable(`${dir}/2.parquet`, { x: "DOUBLE" }, [[4], [NaN]]);
    expect(await failure({ path: dir })).toMatchObject({
      code: "NON_FINITE_VALUE",
      file: `${dir}/2.parquet`,
      row: 2,
      column: "x",
    });
  });

  it("empty file, header-only file, missing file, missing required column", async () => {
    const empty = tmp.path("empty.csv");
    writeFileSync(empty, "");
    expect(await failure({ path: empty })).toMatchObject({ code: "EMPTY_FILE", file: empty });
    const header = tmp.path("header.csv");
    writeFileSync(header, "a,b\n");
    expect(await failure({ path: header })).toMatchObject({ code: "EMPTY_DATASET", file: header });
    expect((await ingest({ path: header }, out(), { allowEmpty: true })).rows).toBe(0);
    expect(await failure({ path: tmp.path("absent.csv") })).toMatchObject({ code: "FILE_NOT_FOUND" });
    expect(await failure({ path: tmp.path("nothing-*.csv") })).toMatchObject({ code: "FILE_NOT_FOUND" });
    const f = tmp.path("cols.csv");
    writeFileSync(f, "a,b\n1,2\n");
    expect(await failure({ path: f }, { requireColumns: ["a", "label"] })).toMatchObject({
      code: "COLUMN_NOT_FOUND",
      column: "label",
      file: f,
    });
  });

  it("non-UTF-8 bytes", async () => {
    const f = tmp.path("latin1.csv");
    writeFileSync(f, Buffer.concat([Buffer.from("a,b\n1,caf"), Buffer.from([0xe9]), Buffer.from("\n2,ok\n")]));
    const e = await failure({ path: f });
    expect(e).toMatchObject({ code: "INVALID_ENCODING", file: f });
    expect((await ingest({ path: f, encoding: "latin-1" }, out())).rows).toBe(2);
  });

  it("a huge single field", async () => {
    const f = tmp.path("huge.csv");
    writeFileSync(f, `a,b\n1,${"x".repeat(3_000_000)}\n2,y\n`);
    const e = await failure({ path: f });
    expect(e).toMatchObject({ code: "MALFORMED_ROW", file: f });
    expect(e.message).toMatch(/over the 2000000-byte limit/);
    expect(e.hint).toMatch(/maxLineSize/);
    expect((await ingest({ path: f, maxLineSize: 4_000_000 }, out())).rows).toBe(2);
  });

  it("mixed JSON types", async () => {
    const f = tmp.path("mixed.jsonl");
    writeFileSync(f, '{"a":1}\n{"a":2}\n{"a":"three"}\n');
    expect(await failure({ path: f })).toMatchObject({ code: "MIXED_TYPES", column: "a", row: 3, file: f });
  });

  it("corrupt Parquet and an unreadable file", async () => {
    const bad = tmp.path("bad.parquet");
    writeFileSync(bad, "definitely not parquet");
    expect(await failure({ path: bad })).toMatchObject({ code: "FILE_UNREADABLE", file: bad });
    if (process.getuid?.() === 0) return; // root reads anything
    const locked = tmp.path("locked.csv");
    writeFileSync(locked, "a\n1\n");
    chmodSync(locked, 0o000);
    expect(await failure({ path: locked })).toMatchObject({ code: "FILE_UNREADABLE" });
  });
});

describe("SQLite and PostgreSQL", () => {
  const dbFile = tmp.path("shop.db");
  const db = new Database(dbFile);
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL, note)");
  const insert = db.prepare("INSERT INTO orders (customer, amount, note) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < 25_000; i++) insert.run(`c${i % 97}`, i / 4, i === 20_000 ? 42 : `n${i}`);
  })();
  db.close();

  it("a query is appended in batches and written as Parquet", async () => {
    const res = await ingest(
      {
        sqlite: dbFile,
        query: "SELECT id, customer, amount, amount * 2 AS doubled FROM orders WHERE id <= 24000",
        batchSize: 1000,
      },
      out(),
    );
    expect(res.rows).toBe(24_000);
    expect(res.schema).toEqual([
      { name: "id", type: "BIGINT" },
      { name: "customer", type: "VARCHAR" },
      { name: "amount", type: "DOUBLE" },
      { name: "doubled", type: "DOUBLE" },
    ]);
    expect(await read(res.path, "SELECT sum(id) AS s, max(doubled) AS m FROM t")).toEqual([
      { s: (24_000 * 24_001) / 2, m: (23_999 / 4) * 2 },
    ]);
  });

  it("a value of another type in an untyped column is MIXED_TYPES with its row and column", async () => {
    const e = await failure({ sqlite: dbFile, query: "SELECT id, note FROM orders ORDER BY id", batchSize: 500 });
    expect(e).toMatchObject({ code: "MIXED_TYPES", column: "note", row: 20_001, file: dbFile });
  });

  it("bad query, not a database, missing file", async () => {
    expect(await failure({ sqlite: dbFile, query: "SELECT nope FROM orders" })).toMatchObject({
      code: "QUERY_FAILED",
      file: dbFile,
    });
    const notDb = tmp.path("not.db");
    writeFileSync(notDb, "hello, this is text and not a database at all, not even close to one.");
    expect(await failure({ sqlite: notDb, query: "SELECT 1" })).toMatchObject({ code: "FILE_UNREADABLE" });
    expect(await failure({ sqlite: tmp.path("missing.db"), query: "SELECT 1" })).toMatchObject({
      code: "FILE_NOT_FOUND",
    });
  });

  it("PostgreSQL that cannot be reached names the source without leaking the password", async () => {
    // Port 1 on loopback refuses at once; the real server is exercised in test/ingest/postgres.test.ts.
    const e = await failure({ postgres: "postgres://app:s3cret@127.0.0.1:1/prod", query: "SELECT 1" });
    expect(e.code).toBe("FILE_UNREADABLE");
    expect(e.hint).toMatch(/server is running/);
    expect(e.message).not.toContain("s3cret");
  });
});
