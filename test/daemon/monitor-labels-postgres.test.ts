/**
 * Late labels in a PostgreSQL table (`postgres://...#schema.table`), on a real server started for
 * this file: the monitor's windows match those of the same labels read from a CSV file.
 */
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledMonitor } from "../../src/core/triggers.js";
import { evaluateMonitor } from "../../src/daemon/monitor-evaluate.js";
import { AnswerDroppingProxy } from "../support/answer-dropping-proxy.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { HOUR, T0, openMonitorHome, ServedTraffic, writeCsvLabels, type MonitorHome } from "./monitor-support.js";

const postgres = requireTools("postgresql");
let server: TestPostgres;
let home: MonitorHome;

postgres.describe("monitor labels in PostgreSQL", () => {
  beforeAll(async () => {
    server = await startPostgres();
    home = await openMonitorHome();
    const traffic = await ServedTraffic.start(home);
    for (const [k, informative] of [0.9, 0, 0, 0].entries()) {
      await traffic.serveWindow(T0 + k * HOUR, { informative, seed: 70 + k, rows: 110 });
    }
    await traffic.close();
    writeCsvLabels(join(home.moduleDir, "labels.csv"), traffic.served);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query("CREATE SCHEMA ops; CREATE TABLE ops.arrivals (flight_id TEXT PRIMARY KEY, delayed BOOLEAN)");
    for (const s of traffic.served) {
      await client.query("INSERT INTO ops.arrivals VALUES ($1, $2)", [s.flightId, s.label === 1]);
    }
    await client.end();
  }, 120_000);

  afterAll(async () => {
    await home?.ty.close();
    await server?.stop();
  });

  const monitor = (labels: { source: string; key: string; column: string }) => {
    const spec = { model: "delays", metric: "auc", threshold: 0.65, windows: 3, labels };
    const p = pipeline("delays").monitor("auc-drop", spec);
    return compileTriggers(p)[0] as CompiledMonitor;
  };

  it("reads labels keyed by row key from a table and fires as the file's labels do", async () => {
    const now = T0 + 4 * HOUR + 60_000;
    const ctx = { registry: home.registry, moduleDir: home.moduleDir };
    const fromFile = await evaluateMonitor(
      monitor({ source: "labels.csv", key: "prediction_id", column: "delayed" }),
      undefined,
      now,
      ctx,
    );
    const table = { source: `${server.url}#ops.arrivals`, key: "flight_id", column: "delayed" };
    const fromTable = await evaluateMonitor(monitor(table), undefined, now, ctx);
    const measured = (r: typeof fromFile) => r.windows.map((w) => [w.labelled, w.value]);
    expect(measured(fromTable)).toEqual(measured(fromFile));
    expect(fromTable.request?.reason).toMatch(/for 3 windows of 1h \(110, 110, 110 labelled rows\)$/);
    expect(fromTable.request?.reason).toBe(fromFile.request?.reason);
  });

  it("a connection lost under the labels' query fails the evaluation with the error, not the daemon", async () => {
    const { hostname, port } = new URL(server.url);
    const proxy = await AnswerDroppingProxy.start({ host: hostname, port: Number(port) });
    try {
      const url = new URL(server.url);
      url.port = String(proxy.port);
      proxy.dropAnswerTo('FROM "ops"."arrivals"');
      const table = { source: `${url.href}#ops.arrivals`, key: "flight_id", column: "delayed" };
      const ctx = { registry: home.registry, moduleDir: home.moduleDir };
      // Before, the client's error event went unheard too, which ends the process that evaluates monitors.
      await expect(evaluateMonitor(monitor(table), undefined, T0 + 4 * HOUR + 60_000, ctx)).rejects.toThrow(
        /Connection terminated/,
      );
      expect(proxy.dropped).toBe(1);
    } finally {
      await proxy.stop();
    }
  });
});
