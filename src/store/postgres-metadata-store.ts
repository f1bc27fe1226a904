/**
 * The PostgreSQL metadata store (node-postgres Pool), for deployments where several processes or
 * machines share one record of runs: every concern over one connection pool, which the registry
 * and the tick ledger share as well. Behaviour follows the SQLite store (the reference).
 */
import type pg from "pg";
import { ComposedMetadataStore } from "./composed-metadata-store.js";
import { PostgresArtifactRecordStore } from "./postgres-artifact-record-store.js";
import { openMetadataPool, type PostgresMetadataOptions } from "./postgres-metadata-database.js";
import { PostgresRunStore } from "./postgres-run-store.js";
import { PostgresStatIndexStore } from "./postgres-stat-index-store.js";
import { PostgresStepRunStore } from "./postgres-step-run-store.js";

export { type PostgresMetadataOptions, redactUrl } from "./postgres-metadata-database.js";

export class PostgresMetadataStore extends ComposedMetadataStore {
  readonly backend = "postgres";
  declare readonly artifactRecords: PostgresArtifactRecordStore;
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {
    const steps = new PostgresStepRunStore(pool);
    const artifactRecords = new PostgresArtifactRecordStore(pool, (a) => steps.writeArtifactRows(a));
    super(new PostgresRunStore(pool), steps, artifactRecords, new PostgresStatIndexStore(pool));
  }

  /** Connects, creates the schema if needed and applies pending migrations. */
  static async open(opts: PostgresMetadataOptions): Promise<PostgresMetadataStore> {
    return new PostgresMetadataStore(await openMetadataPool(opts));
  }

  /** The shared connection pool, for the other stores of this database and schema (registry, tick ledger). */
  get connectionPool(): pg.Pool {
    return this.pool;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Keeps an artifact alive for gc on behalf of an owner (e.g. "model:flights@3"). */
  pin(digest: string, owner: string): Promise<void> {
    return this.artifactRecords.pin(digest, owner);
  }
}
