import { afterAll, beforeAll, expect, it } from "vitest";
import { PostgresTickStore } from "../../src/store/postgres-tick-store.js";
import { AnswerDroppingProxy } from "../support/answer-dropping-proxy.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { describeTickStore, queued } from "./tick-conformance.js";

let server: TestPostgres;
let n = 0;
const schemas = new WeakMap<object, string>();

requireTools("postgresql").describe("PostgresTickStore", () => {
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  describeTickStore("postgres", async (shared) => {
    const schema = shared ? schemas.get(shared)! : `ticks_${n++}`;
    const store = await PostgresTickStore.open({ url: server.url, schema });
    schemas.set(store, schema);
    return store;
  });

  // The server applied the change and the connection was lost before its answer: sent again on a new
  // connection (postgres-reconnect.ts), the change must still report itself as taken.
  it("a launch, an idempotency key and a cancel whose answers were lost still report what they did", async () => {
    const { hostname, port } = new URL(server.url);
    const proxy = await AnswerDroppingProxy.start({ host: hostname, port: Number(port) });
    const url = new URL(server.url);
    url.port = String(proxy.port);
    const store = await PostgresTickStore.open({ url: url.href, schema: `ticks_${n++}` });
    try {
      await store.enqueueRuns([queued("r1", "api", "k1")]);
      proxy.dropAnswerTo("UPDATE run_queue SET status = 'launched'");
      // Before, the launch sent again found the run launched and said another daemon had it: nobody ran it.
      expect(await store.markLaunched("r1", "daemon-a", 10)).toBe(true);
      expect(await store.markLaunched("r1", "daemon-b", 11)).toBe(false);
      proxy.dropAnswerTo("INSERT INTO idempotency_keys");
      // Before, the claim sent again found its own key and answered "a repeat of run-9", which was never made.
      const first = { runId: "run-9", fresh: true, sameRequest: true };
      expect(await store.claimIdempotencyKey("key-1", "req-1", "run-9", 1)).toEqual(first);
      expect(await store.claimIdempotencyKey("key-1", "req-1", "run-10", 2)).toEqual({ ...first, fresh: false });
      // Before, a cancel sent again found its own cancel and answered "not queued", though it had withdrawn the run.
      await store.enqueueRuns([queued("r2", "api", "k2"), queued("r3", "api", "k3")]);
      proxy.dropAnswerTo("UPDATE run_queue SET status = 'cancelled'");
      expect(await store.cancelQueued("r2", "by request")).toBe(true);
      proxy.dropAnswerTo(AnswerDroppingProxy.simpleQuery("COMMIT"));
      expect(await store.cancelQueued("r3", "by request")).toBe(true);
      expect(await store.cancelQueued("r3", "by request")).toBe(false);
      expect(proxy.dropped).toBe(4);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });
});
