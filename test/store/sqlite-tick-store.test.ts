import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { SqliteTickStore } from "../../src/store/sqlite-tick-store.js";
import { describeTickStore } from "./tick-conformance.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-ticks-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const files = new WeakMap<object, string>();

describeTickStore("sqlite (file)", async (shared) => {
  const file = shared ? files.get(shared)! : path.join(root, `db-${n++}`, "metadata.db");
  const store = SqliteTickStore.open(file);
  files.set(store, file);
  return store;
});
