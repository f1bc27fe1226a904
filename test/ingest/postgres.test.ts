/**
 * PostgreSQL ingestion against a real server started for this file: every common column type
 * lands in Parquet with the value PostgreSQL holds (compared with a reference read through
 * plain `pg` queries), and connection, login and query failures are DataErrors that name the
 * source without its password.
 */
import { existsSync, readdirSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DataError } from "../../src/lib/data/data-error.js";
import { queryRows, withConnection } from "../../src/lib/data/duck.js";
import { ingest, type IngestSource } from "../../src/lib/data/ingest.js";
import { makeTempDir } from "../data/temp-data.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";

const postgres = requireTools("postgresql");

// Made in beforeAll: a skipped file runs no hooks and would leave the directory behind.
let tmp: ReturnType<typeof makeTempDir>;
let n = 0;
const out = () => tmp.path(`out-${++n}.parquet`);
const ROWS = 5_000;

const TABLE = `
  CREATE TABLE readings (
    id BIGINT PRIMARY KEY, small SMALLINT, n INTEGER, x DOUBLE PRECISION, r REAL, amount NUMERIC(12,3), big NUMERIC,
    label TEXT, code VARCHAR(8), flag BOOLEAN, at TIMESTAMP, at_tz TIMESTAMPTZ, day DATE, payload BYTEA, u UUID,
      doc JSONB, tags TEXT[]
  );
  INSERT INTO readings
  SELECT i, (i % 300)::smallint, CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1000 - 2500000 END, i / 3.0 + 1e-9,
    (i % 17) / 4.0,
    CASE WHEN i % 5 = 0 THEN NULL ELSE round(i * 1.0 / 7, 3) END, i * 100000000000.0001,
    CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN '' ELSE 'lbl-' || i || ' é✓' END, 'c' || (i % 50), i % 2 = 0,
    timestamp '2024-01-31 12:00:00.123456' + i * interval '37 minutes',
      timestamptz '2024-03-31 01:30:00+02' + i * interval '1 hour',
    CASE WHEN i % 3 = 0 THEN NULL ELSE date '1999-12-30' + i END, CASE WHEN i % 4 = 0 THEN NULL
      ELSE decode(lpad(to_hex(i), 8, '0'), 'hex') END,
    md5(i::text)::uuid, jsonb_build_object('i', i), ARRAY['a', i::text]
  FROM generate_series(1, ${ROWS}) AS i;
  INSERT INTO readings (id, small, n, x, label) VALUES (9223372036854775807, -32768, -2147483648,
    -1.7976931348623157e308, 'max');`;

let server: TestPostgres;
let url: string;

async function failure(source: IngestSource, opts = {}): Promise<DataError> {
  const target = out();
  const err = await ingest(source, target, opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  expect(existsSync(target)).toBe(false);
  expect(readdirSync(tmp.dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  return err as DataError;
}

async function pgRows(sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

postgres.describe("ingest from PostgreSQL", () => {
  beforeAll(async () => {
    tmp = makeTempDir("ty-pg-ingest-");
    server = await startPostgres();
    url = server.url;
    await pgRows(TABLE);
  });
  afterAll(async () => {
    await server?.stop();
    tmp?.cleanup();
  });

  it("maps each PostgreSQL type to a DuckDB type and keeps every value", async () => {
    const res = await ingest({ postgres: url, query: "SELECT * FROM readings ORDER BY id;", batchSize: 777 }, out());
    expect(res.rows).toBe(ROWS + 1);
    expect(res.files).toEqual([url]);
    expect(res.schema).toEqual([
      { name: "id", type: "BIGINT" },
      { name: "small", type: "SMALLINT" },
      { name: "n", type: "INTEGER" },
      { name: "x", type: "DOUBLE" },
      { name: "r", type: "FLOAT" },
      { name: "amount", type: "DECIMAL(12,3)" },
      { name: "big", type: "DOUBLE" },
      { name: "label", type: "VARCHAR" },
      { name: "code", type: "VARCHAR" },
      { name: "flag", type: "BOOLEAN" },
      { name: "at", type: "TIMESTAMP" },
      { name: "at_tz", type: "TIMESTAMP WITH TIME ZONE" },
      { name: "day", type: "DATE" },
      { name: "payload", type: "BLOB" },
      { name: "u", type: "UUID" },
      { name: "doc", type: "VARCHAR" },
      { name: "tags", type: "VARCHAR" },
    ]);
    // One canonical text form per value on each side: exact integers, float8 numbers, epoch microseconds, hex bytes.
    const expected =
      await pgRows(`SELECT id::text, small, n, x, r::float8 AS r, amount::text, big::float8 AS big, label, code, flag,
      (extract(epoch FROM at) * 1000000)::bigint::text AS at, (extract(epoch
        FROM at_tz) * 1000000)::bigint::text AS at_tz,
      to_char(day, 'YYYY-MM-DD') AS day, encode(payload, 'hex') AS payload, u::text, doc::text, tags::text
        FROM readings ORDER BY id`);
    const got = await withConnection((con) =>
      queryRows(
        con,
        `SELECT id::VARCHAR AS id, small, n, x, r::DOUBLE AS r, amount::VARCHAR AS amount, big, label, code, flag,
      epoch_us("at")::VARCHAR AS "at", epoch_us(at_tz)::VARCHAR AS at_tz, strftime(day, '%Y-%m-%d') AS day,
        lower(hex(payload)) AS payload,
      u::VARCHAR AS u, doc, tags FROM read_parquet('${res.path}') ORDER BY id`,
      ),
    );
    expect(got).toEqual(expected);
    expect(got.filter((r) => r.n === null)).toHaveLength(Math.floor(ROWS / 7));
    expect(got.find((r) => r.label === "max")).toMatchObject({
      id: "9223372036854775807",
      n: -2147483648,
      x: -1.7976931348623157e308,
      flag: null,
    });
  });

  it("streams a large result through the cursor in batches", async () => {
    const res = await ingest(
      { postgres: url, query: "SELECT g AS id, g * 0.5 AS half FROM generate_series(1, 200000) g", batchSize: 10_000 },
      out(),
    );
    expect(res.rows).toBe(200_000);
    const [agg] = await withConnection((con) =>
      queryRows(
        con,
        `SELECT sum(id) AS s, max(half) AS m, typeof(half) AS t FROM read_parquet('${res.path}') GROUP BY t`,
      ),
    );
    expect(agg).toEqual({ s: (200_000 * 200_001) / 2, m: 100_000, t: "DOUBLE" });
  });

  it("a bad query is QUERY_FAILED naming the source, the position and a hint", async () => {
    const e = await failure({ postgres: url, query: "SELECT nope FROM readings" });
    expect(e).toMatchObject({ code: "QUERY_FAILED", file: url });
    expect(e.message).toMatch(/column "nope" does not exist/);
    expect(e.message).toMatch(/at character 8/);
    expect((await failure({ postgres: url, query: "SELECT * FROM missing_table" })).message).toMatch(
      /relation "missing_table" does not exist/,
    );
    expect((await failure({ postgres: url, query: "SELECT 1/0 AS x" })).code).toBe("QUERY_FAILED");
    // Not a SELECT: a cursor refuses it, and nothing was deleted.
    expect((await failure({ postgres: url, query: "DELETE FROM readings" })).hint).toMatch(/SELECT/);
    expect(await pgRows("SELECT count(*)::int AS c FROM readings")).toEqual([{ c: ROWS + 1 }]);
  });

  it("unreachable server, unknown role and unknown database are FILE_UNREADABLE, password redacted", async () => {
    const port = Number(new URL(url).port);
    const refused = await failure({
      postgres: `postgres://app:s3cret@127.0.0.1:${port === 1 ? 2 : 1}/prod`,
      query: "SELECT 1",
    });
    expect(refused).toMatchObject({
      code: "FILE_UNREADABLE",
      file: `postgres://app:***@127.0.0.1:${port === 1 ? 2 : 1}/prod`,
    });
    expect(refused.hint).toMatch(/server is running/);
    expect(refused.message).not.toContain("s3cret");
    const role = await failure({ postgres: url.replace("postgres@", "nobody:pw@"), query: "SELECT 1" });
    expect(role).toMatchObject({ code: "FILE_UNREADABLE" });
    expect(role.message).toMatch(/refused the login.*role "nobody" does not exist/);
    expect(role.message).not.toContain(":pw@");
    const db = await failure({ postgres: url.replace(/\/[^/]+$/, "/nodb"), query: "SELECT 1" });
    expect(db.message).toMatch(/no such database/);
  });

  it("an empty result, duplicate column names and non-finite floats follow the ingestion options", async () => {
    expect((await failure({ postgres: url, query: "SELECT * FROM readings WHERE false" })).code).toBe("EMPTY_DATASET");
    const empty = await ingest({ postgres: url, query: "SELECT id, x FROM readings WHERE false" }, out(), {
      allowEmpty: true,
    });
    expect(empty).toMatchObject({
      rows: 0,
      schema: [
        { name: "id", type: "BIGINT" },
        { name: "x", type: "DOUBLE" },
      ],
    });
    expect(await failure({ postgres: url, query: "SELECT 1 AS a, 2 AS a" })).toMatchObject({
      code: "INVALID_OPTION",
      column: "a",
    });
    expect(await failure({ postgres: url, query: "SELECT 'NaN'::float8 AS v" })).toMatchObject({
      code: "NON_FINITE_VALUE",
      column: "v",
    });
    const inf = await ingest({ postgres: url, query: "SELECT 'Infinity'::float8 AS v" }, out(), {
      allowNonFinite: true,
    });
    expect(inf.rows).toBe(1);
    // DuckDB would silently read "0044-03-15 BC" as AD: dates are translated, timestamps refused.
    const bc = await ingest({ postgres: url, query: "SELECT date '0044-03-15 BC' AS d" }, out());
    expect(
      await withConnection((con) => queryRows(con, `SELECT year(d) AS y FROM read_parquet('${bc.path}')`)),
    ).toEqual([{ y: -43 }]);
    const bcTime = await failure({ postgres: url, query: "SELECT timestamp '0044-03-15 10:00 BC' AS t" });
    expect(bcTime).toMatchObject({ code: "COLUMN_TYPE", column: "t" });
    expect(bcTime.message).toMatch(/holds 0044-03-15 10:00:00 BC/);
  });
});
