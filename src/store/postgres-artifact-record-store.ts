/** Artifact records and lineage on PostgreSQL (a step's own records are written by the step run store's batch). */
import type pg from "pg";
import { digestPrefixPatterns } from "../core/digest-format.js";
import type { ArtifactRecord, LineageEdge } from "./metadata-records.js";
import type { ArtifactRecordStore } from "./metadata-store.js";
import { type Row, rowToArtifact, rowToEdge } from "./postgres-rows.js";

const ARTIFACT_COLUMNS = `digest, kind, size, meta, created_at, inline IS NOT NULL AS is_inline`;

export class PostgresArtifactRecordStore implements ArtifactRecordStore {
  constructor(
    private readonly pool: pg.Pool,
    /** Writes artifact records in one statement (the step run store's batch writer). */
    private readonly writeArtifactRows: (
      artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>,
    ) => Promise<void>,
  ) {}

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows;
  }

  async putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void> {
    if (artifacts.length) await this.writeArtifactRows(artifacts);
  }

  async getArtifact(digestOrPrefix: string): Promise<ArtifactRecord | undefined> {
    const [exact] = await this.rows(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE digest = $1`, [digestOrPrefix]);
    if (exact) return rowToArtifact(exact);
    const patterns = digestPrefixPatterns(digestOrPrefix);
    if (!patterns) return undefined;
    const rows = await this.rows(
      `SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE digest LIKE ANY($1::text[]) LIMIT 2`,
      [patterns],
    );
    return rows.length === 1 ? rowToArtifact(rows[0]) : undefined;
  }

  async getInlineBytes(digest: string): Promise<Uint8Array | undefined> {
    const [row] = await this.rows(`SELECT inline FROM artifacts WHERE digest = $1`, [digest]);
    return row?.inline ? new Uint8Array(row.inline as Buffer) : undefined;
  }

  async listArtifacts(): Promise<ArtifactRecord[]> {
    return (await this.rows(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts`)).map(rowToArtifact);
  }

  async deleteArtifacts(digests: string[]): Promise<void> {
    if (digests.length) await this.rows(`DELETE FROM artifacts WHERE digest = ANY($1::text[])`, [digests]);
  }

  async lineageOf(digest: string): Promise<LineageEdge[]> {
    return (await this.rows(`SELECT * FROM lineage WHERE digest = $1 ORDER BY seq`, [digest])).map(rowToEdge);
  }

  async lineageOfStepRun(stepRunId: string): Promise<LineageEdge[]> {
    return (await this.rows(`SELECT * FROM lineage WHERE step_run_id = $1 ORDER BY seq`, [stepRunId])).map(rowToEdge);
  }

  async digestsUsedByRuns(runIds: string[]): Promise<Set<string>> {
    if (!runIds.length) return new Set();
    const rows = await this.rows(`SELECT DISTINCT digest FROM lineage WHERE run_id = ANY($1::text[])`, [runIds]);
    return new Set(rows.map((r) => r.digest as string));
  }

  async pinnedDigests(): Promise<Set<string>> {
    return new Set((await this.rows(`SELECT digest FROM pins`)).map((r) => r.digest as string));
  }

  /** Keeps an artifact alive for gc on behalf of an owner (e.g. "model:flights@3"). */
  async pin(digest: string, owner: string): Promise<void> {
    await this.rows(`INSERT INTO pins (digest, owner) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [digest, owner]);
  }
}
