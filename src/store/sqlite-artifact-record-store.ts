/**
 * Artifact records and lineage on SQLite. Its synchronous writers are also called inside the step
 * run store's transactions: a step's outputs, their records and its lineage commit together.
 */
import type Database from "better-sqlite3";
import { digestPrefixPatterns } from "../core/digest-format.js";
import type { ArtifactRecord, LineageEdge } from "./metadata-records.js";
import type { ArtifactRecordStore } from "./metadata-store.js";
import { artifactParams, type Row, rowToArtifact, rowToEdge } from "./sqlite-metadata-rows.js";

const ARTIFACT_COLUMNS = `digest, kind, size, meta, created_at, inline IS NOT NULL AS is_inline`;

export class SqliteArtifactRecordStore implements ArtifactRecordStore {
  private readonly stmts: Record<string, Database.Statement>;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.stmts = {
      // A record written again keeps the richer of the two metadata objects; an equal one leaves the row as it is.
      putArtifact: p(`INSERT INTO artifacts (digest, kind, size, meta, created_at, inline) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(digest) DO UPDATE SET meta = excluded.meta WHERE length(excluded.meta) > length(artifacts.meta)`),
      getArtifact: p(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE digest = ?`),
      getArtifactPrefix: p(
        `SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE digest LIKE ? OR digest LIKE ? OR digest LIKE ? LIMIT 2`,
      ),
      getInline: p(`SELECT inline FROM artifacts WHERE digest = ?`),
      listArtifacts: p(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts`),
      deleteArtifact: p(`DELETE FROM artifacts WHERE digest = ?`),
      insertLineage: p(
        `INSERT INTO lineage (step_run_id, run_id, step_id, digest, ` +
          `direction, name, reused) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      lineageOf: p(`SELECT * FROM lineage WHERE digest = ? ORDER BY rowid`),
      lineageOfStepRun: p(`SELECT * FROM lineage WHERE step_run_id = ? ORDER BY rowid`),
      usedByRun: p(`SELECT DISTINCT digest FROM lineage WHERE run_id = ?`),
      pins: p(`SELECT digest FROM pins`),
      pin: p(`INSERT OR IGNORE INTO pins (digest, owner) VALUES (?, ?)`),
    };
  }

  /** Writes artifact records in the caller's transaction. */
  writeArtifactRows(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): void {
    for (const a of artifacts) this.stmts.putArtifact.run(artifactParams(a.record, a.bytes));
  }

  /** Writes lineage edges in the caller's transaction. */
  writeLineageRows(edges: LineageEdge[]): void {
    for (const e of edges)
      this.stmts.insertLineage.run(e.stepRunId, e.runId, e.stepId, e.digest, e.direction, e.name, e.reused ? 1 : 0);
  }

  async putArtifacts(artifacts: Array<{ record: ArtifactRecord; bytes?: Uint8Array }>): Promise<void> {
    this.db.transaction(() => this.writeArtifactRows(artifacts))();
  }

  async getArtifact(digestOrPrefix: string): Promise<ArtifactRecord | undefined> {
    const exact = this.stmts.getArtifact.get(digestOrPrefix) as Row | undefined;
    if (exact) return rowToArtifact(exact);
    const patterns = digestPrefixPatterns(digestOrPrefix);
    if (!patterns) return undefined;
    const rows = this.stmts.getArtifactPrefix.all(
      patterns[0],
      patterns[1] ?? patterns[0],
      patterns[2] ?? patterns[0],
    ) as Row[];
    return rows.length === 1 ? rowToArtifact(rows[0]) : undefined;
  }

  async getInlineBytes(digest: string): Promise<Uint8Array | undefined> {
    const row = this.stmts.getInline.get(digest) as Row | undefined;
    return row?.inline ? new Uint8Array(row.inline as Buffer) : undefined;
  }

  async listArtifacts(): Promise<ArtifactRecord[]> {
    return (this.stmts.listArtifacts.all() as Row[]).map(rowToArtifact);
  }

  async deleteArtifacts(digests: string[]): Promise<void> {
    this.db.transaction(() => {
      for (const d of digests) this.stmts.deleteArtifact.run(d);
    })();
  }

  async lineageOf(digest: string): Promise<LineageEdge[]> {
    return (this.stmts.lineageOf.all(digest) as Row[]).map(rowToEdge);
  }

  async lineageOfStepRun(stepRunId: string): Promise<LineageEdge[]> {
    return (this.stmts.lineageOfStepRun.all(stepRunId) as Row[]).map(rowToEdge);
  }

  async digestsUsedByRuns(runIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of runIds) for (const r of this.stmts.usedByRun.all(id) as Row[]) out.add(r.digest);
    return out;
  }

  async pinnedDigests(): Promise<Set<string>> {
    return new Set((this.stmts.pins.all() as Row[]).map((r) => r.digest as string));
  }

  /** Keeps an artifact alive for gc on behalf of an owner (e.g. "model:flights@3"). */
  async pin(digest: string, owner: string): Promise<void> {
    this.stmts.pin.run(digest, owner);
  }
}
