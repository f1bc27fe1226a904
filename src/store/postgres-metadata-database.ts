/**
 * The one PostgreSQL connection pool every metadata concern of a home shares (runs, step runs,
 * artifact records, the stat index, and the registry and tick ledger beside them): opened once,
 * with the schema created and migrated. No `pg` type leaves the store layer.
 */
import pg from "pg";
import { TrainyardError } from "../core/errors.js";
import { POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
import { reconnectingPool } from "./postgres-reconnect.js";
import { applyMigrations } from "./postgres-schema-versions.js";
import { inTransaction } from "./postgres-transaction.js";

export interface PostgresMetadataOptions {
  /** Connection string, e.g. postgres://user:pass@host:5432/trainyard. */
  url: string;
  /** Schema holding the tables, created when missing; lets several homes share a database. @default "public" */
  schema?: string;
  /** Most pooled connections this process opens. @default 10 */
  maxConnections?: number;
  /** How long a statement waits for a server that went away before it fails (postgres-reconnect.ts). @default 60000 */
  reconnectWithinMs?: number;
}

// int8 (counts, sizes) as JS numbers: every value this store writes came from a JS number.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** Connects, creates the schema if needed and applies pending migrations. */
export async function openMetadataPool(opts: PostgresMetadataOptions): Promise<pg.Pool> {
  const schema = opts.schema ?? "public";
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new TrainyardError("USAGE", `invalid PostgreSQL schema name "${schema}"`, {
      hint: "use lowercase letters, digits and underscores",
    });
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    types,
    options: `-c search_path=${schema}`,
    connectionTimeoutMillis: 15_000,
  });
  // An idle pooled connection that the server drops must not crash the process.
  pool.on("error", () => undefined);
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    const message = (err as Error).message;
    throw new TrainyardError(
      "METADATA_UNAVAILABLE",
      `cannot open the PostgreSQL metadata store at ${redactUrl(opts.url)}: ${message}`,
      { cause: err, hint: openHint(err) },
    );
  }
  return reconnectingPool(pool, opts.reconnectWithinMs);
}

async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  await inTransaction(
    pool,
    async (c) => {
      // Serialises concurrent first opens; the lock is released at commit.
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('trainyard.migrate.' || $1))`, [schema]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await applyMigrations(c, "trainyard_migrations", POSTGRES_MIGRATIONS);
    },
    { guarded: false },
  );
}

/** What to check when opening fails: the network, the login, the privileges, or our migration. */
function openHint(err: unknown): string {
  const code = (err as { code?: string }).code ?? "";
  if (/^E[A-Z]+$/.test(code) || /^(08|57P)/.test(code) || /timeout|terminated/i.test((err as Error).message)) {
    return "check that the server is running and reachable, and the URL's host and port";
  }
  if (/^(28|3D)/.test(code)) return "check the user, password and database name in the connection URL";
  if (code === "42501") return "the user needs the CREATE privilege on the database (or an existing schema it may use)";
  return "applying the metadata schema failed; see the cause, and report it if the database is otherwise healthy";
}

/** A prefix matched literally: `%` and `_` in an id are characters, not wildcards. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A connection string without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@").replace(/([?&]password=)[^&]*/i, "$1***");
}
