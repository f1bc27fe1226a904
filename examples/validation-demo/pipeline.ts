/**
 * A deliberately corrupted batch stopped at validation. `land.sh` lands January-May as they are
 * and a June whose `distance` column was retyped to text, with a burst of nulls in `delay` and
 * every delay shifted by two hours. The pipeline checks the newest partition against the flight
 * contract and measures its drift against the earlier months; both must pass before "train" may
 * run, so the run fails in seconds with every violation listed and an HTML report to open.
 *
 *   bash examples/validation-demo/land.sh
 *   node bin/trainyard.js run examples/validation-demo/pipeline.ts
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pipeline, type Dataset } from "trainyard";
import { drift, ingest, validate } from "trainyard/data";
import { flightContract } from "../flight-delays/contract.js";

const landing = resolve(import.meta.dirname, "landing");
const files = () =>
  readdirSync(landing)
    .filter((f) => f.endsWith(".parquet"))
    .sort()
    .map((f) => join(landing, f));

const p = pipeline("validation-demo", { description: "a corrupted batch stops at validation" });

const history = p.step("history", {
  description: "every partition but the newest",
  sources: () => files().slice(0, -1),
  run: async (ctx) => {
    const out = join(ctx.workdir, "history.parquet");
    const r = await ingest(
      {
        path: files()
          .slice(0, -1)[0]
          .replace(/\d\d\.parquet$/, "*.parquet"),
        format: "parquet",
      },
      out,
    );
    return ctx.dataset(out, { format: "parquet", rows: r.rows, schema: r.schema });
  },
});
const newest = p.step("newest", {
  description: "the newest partition",
  sources: () => files().slice(-1),
  run: async (ctx) => {
    const out = join(ctx.workdir, "newest.parquet");
    const source = files().at(-1)!;
    const r = await ingest({ path: source, format: "parquet" }, out);
    return ctx.dataset(out, { format: "parquet", rows: r.rows, schema: r.schema, source });
  },
});

const contract = validate(p, "validate", { data: newest, contract: flightContract });
const shift = drift(p, "drift", {
  reference: history,
  current: newest,
  config: {
    defaults: { psi: { threshold: 0.2, action: "fail" } },
    schema: { retyped: "fail", removed: "fail", added: "warn" },
  },
});

p.step("train", {
  description: "stands in for training: never reached with a bad batch",
  inputs: { contract, shift, data: newest },
  run: (_ctx, { data }: { data: Dataset }) => ({ trainedOn: data.meta.rows }),
});

export default p;
