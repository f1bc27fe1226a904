/**
 * Real parts for monitor tests: a Trainyard home (SQLite) with a registered model whose version
 * keeps a reference profile, the model server on 127.0.0.1 with a frozen clock stamping its
 * prediction log, real predict requests, and labels written afterwards as files or tables.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { digestOfValue } from "../../src/engine/artifact-io.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { profileDataset } from "../../src/lib/data/profile.js";
import { openRegistry, promoteAlias, registerModel } from "../../src/lib/registry/index.js";
import { startModelServer, type ModelServer } from "../../src/serve/index.js";
import type { RegistryStore } from "../../src/store/registry-store.js";
import { loadLinearPredictor } from "../serve/linear-predictor.js";

export const HOUR = 3_600_000;
/** A Monday, midnight UTC: window k of an hourly monitor is [T0 + k h, T0 + (k+1) h). */
export const T0 = Date.parse("2026-03-02T00:00:00Z");

/** Trains score = x (a linear bundle) on x ~ U(0, 1), keeping the training data's profile. */
function scorePipeline() {
  const p = pipeline("delays-train", { params: z.object({ seed: z.number().default(1) }) });
  p.step("train", {
    params: ["seed"],
    run: async (ctx) => {
      const rand = mulberry32(ctx.params.seed);
      const csv = join(ctx.workdir, "train.csv");
      writeFileSync(csv, `x\n${Array.from({ length: 2000 }, () => rand().toFixed(6)).join("\n")}\n`);
      const profile = await profileDataset(csv, { bins: 10 });
      const dir = join(ctx.workdir, "model");
      mkdirSync(dir, { recursive: true });
      const bundle = { kind: "test-linear", label: "delayed", weights: { x: 1 }, bias: 0 };
      writeFileSync(join(dir, "bundle.json"), JSON.stringify(bundle));
      return { model: ctx.directory("model"), profile };
    },
  });
  return p;
}

export interface MonitorHome {
  ty: Trainyard;
  registry: RegistryStore;
  moduleDir: string;
}

/** A home where `delays` version 1 (score = x, with a reference profile) is served as production. */
export async function openMonitorHome(): Promise<MonitorHome> {
  const ty = await Trainyard.open({ home: mkdtempSync(join(tmpdir(), "ty-monitor-")) });
  const run = await ty.run(scorePipeline());
  if (run.status !== "succeeded") throw new Error(`training failed: ${JSON.stringify(run.error)}`);
  const out = (await ty.output(run.runId, "train")) as { model: { digest: string }; profile: unknown };
  await registerModel(ty, {
    model: "delays",
    artifactDigest: out.model.digest,
    runId: run.runId,
    referenceProfileDigest: digestOfValue(out.profile),
    gates: [],
  });
  await promoteAlias(ty, "delays", "production", 1, { actor: "test" });
  return { ty, registry: openRegistry(ty), moduleDir: mkdtempSync(join(tmpdir(), "ty-monitor-module-")) };
}

/** One served row as the client saw it, with the truth its label will carry later. */
export interface ServedRow {
  predictionId: string;
  /** The row's index in its request, and how many rows the request had. */
  row: number;
  rows: number;
  flightId: string;
  x: number;
  score: number;
  label: 0 | 1;
  ts: number;
}

export interface WindowTraffic {
  /** Rows to serve in the window. @default 150 */
  rows?: number;
  /** Share of labels that follow the score (x > 0.5); the rest are coin flips. 0: AUC ~0.5, 1: AUC 1. */
  informative: number;
  /** Inputs drawn from U(shift, 1 + shift). @default 0 */
  shift?: number;
  seed: number;
}

/** The model server on 127.0.0.1:0 whose prediction log is stamped by `clock.now`. */
export class ServedTraffic {
  readonly served: ServedRow[] = [];
  private flights = 0;

  private constructor(
    readonly server: ModelServer,
    readonly url: string,
    private readonly registry: RegistryStore,
    readonly clock: { now: number },
  ) {}

  static async start(home: MonitorHome): Promise<ServedTraffic> {
    const clock = { now: T0 };
    const { server, url } = await startModelServer({
      registry: home.registry,
      artifactPath: (d) => home.ty.artifacts.getLocal(d),
      loadPredictor: loadLinearPredictor,
      port: 0,
      logSample: 1,
      rowKey: "flight_id",
      now: () => clock.now,
      // The frozen clock stamps rows in the past of the real one: age-based retention would delete them.
      logRetention: { maxAgeDays: 0 },
    });
    return new ServedTraffic(server, url, home.registry, clock);
  }

  /** Serves a window's rows through real requests (every fifth request carries three rows). */
  async serveWindow(start: number, spec: WindowTraffic): Promise<ServedRow[]> {
    const rand = mulberry32(spec.seed);
    const total = spec.rows ?? 150;
    const out: ServedRow[] = [];
    for (let r = 0; out.length < total; r++) {
      const n = Math.min(r % 5 === 4 ? 3 : 1, total - out.length);
      this.clock.now = start + Math.floor(((out.length + 0.5) / total) * HOUR * 0.99);
      const row = () => ({ x: (spec.shift ?? 0) + rand(), flight_id: `F${++this.flights}` });
      const rows = Array.from({ length: n }, row);
      const res = await fetch(`${this.url}/v1/models/delays/production:predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ rows }),
      });
      if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { predictionId: string; predictions: number[] };
      rows.forEach((row, i) => {
        const informative = rand() < spec.informative;
        const label: 0 | 1 = informative ? (row.x > 0.5 ? 1 : 0) : rand() < 0.5 ? 1 : 0;
        const seen = { predictionId: body.predictionId, row: i, rows: n, flightId: row.flight_id, x: row.x };
        out.push({ ...seen, score: body.predictions[i], label, ts: this.clock.now });
      });
    }
    this.served.push(...out);
    await this.waitForLog();
    return out;
  }

  /** Waits until the server's batched logger wrote every request served so far. */
  private async waitForLog(): Promise<void> {
    const want = new Set(this.served.map((s) => s.predictionId)).size;
    for (let i = 0; i < 200; i++) {
      const range = { model: "delays", alias: "production", from: 0, to: 8.64e15 };
      const logged = await this.registry.readPredictionLog(range);
      if (logged.length >= want) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error("the prediction log never caught up with the requests served");
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** The label key of a served row by prediction id: `<id>.<row>`, or the bare id of a one-row request. */
export function predictionKey(s: ServedRow): string {
  return s.rows === 1 ? s.predictionId : `${s.predictionId}.${s.row}`;
}

export function writeCsvLabels(path: string, rows: readonly ServedRow[]): void {
  writeFileSync(path, `prediction_id,delayed\n${rows.map((s) => `${predictionKey(s)},${s.label}`).join("\n")}\n`);
}

export function writeJsonLabels(path: string, rows: readonly ServedRow[]): void {
  writeFileSync(path, rows.map((s) => JSON.stringify({ flight_id: s.flightId, delayed: s.label === 1 })).join("\n"));
}

export function writeSqliteLabels(path: string, rows: readonly ServedRow[]): void {
  const db = new Database(path);
  db.exec("CREATE TABLE IF NOT EXISTS arrivals (flight_id TEXT PRIMARY KEY, delayed INTEGER)");
  const insert = db.prepare("INSERT OR REPLACE INTO arrivals (flight_id, delayed) VALUES (?, ?)");
  db.transaction(() => rows.forEach((s) => insert.run(s.flightId, s.label)))();
  db.close();
}

/** A small seeded generator, so every run of a test serves the same rows and labels. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
