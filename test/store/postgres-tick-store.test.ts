import { afterAll, beforeAll } from "vitest";
import { PostgresTickStore } from "../../src/store/postgres-tick-store.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { describeTickStore } from "./tick-conformance.js";

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
});
