/**
 * Declarations of the new trigger kinds, in a pipeline module and in trainyard.config.ts: a bad
 * one fails when it loads, naming the trigger, the field and (for the config) the file.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers } from "../../src/core/triggers.js";
import { loadPipelineTriggers } from "../../src/daemon/pipeline-triggers.js";
import { rejectionOf, useHomes } from "../engine/support.js";

const homes = useHomes();
const params = z.object({ month: z.string().default("2001-01") });

interface Thrown {
  code?: string;
  message: string;
  hint?: string;
  fields?: Record<string, unknown>;
}

function thrown(declare: () => unknown): Thrown {
  try {
    declare();
  } catch (err) {
    return err as never;
  }
  throw new Error("expected the declaration to throw");
}

describe("bad declarations fail at load, naming the trigger", () => {
  const p = () => pipeline("delays", { params });
  const cases: Array<[string, () => unknown, string]> = [
    [
      "two sources",
      () => p().sensor("s", { folder: "in", sql: { engine: "duckdb", query: "SELECT 1" } } as never),
      'trigger "s": source must be exactly one of folder, sql or evaluate, got folder and sql',
    ],
    [
      "an unknown engine",
      () => p().sensor("s", { sql: { engine: "mysql" as never, query: "SELECT 1" } }),
      'trigger "s": sql.engine must be one of "duckdb", "sqlite", "postgres", got "mysql"',
    ],
    ["no query", () => p().sensor("s", { sql: { engine: "duckdb", query: " " } }), 'trigger "s": sql.query is missing'],
    [
      "sqlite without a file",
      () => p().sensor("s", { sql: { engine: "sqlite", query: "SELECT 1" } }),
      'trigger "s": sql.file is missing: a sqlite sensor reads a database file',
    ],
    [
      "postgres without a url",
      () => p().sensor("s", { sql: { engine: "postgres", query: "SELECT 1" } }),
      'trigger "s": sql.url is missing: a postgres sensor needs a connection URL',
    ],
    [
      "a mapped param the pipeline lacks",
      () =>
        p().sensor("s", {
          sql: { engine: "duckdb", query: "SELECT 1 AS n" },
          paramsFrom: { rows: "n" } as never,
        }),
      'trigger "s": paramsFrom names "rows", which is not a param of pipeline "delays"',
    ],
    [
      "both column modes",
      () =>
        p().sensor("s", {
          sql: { engine: "duckdb", query: "SELECT 1 AS n" },
          cursorColumn: "n",
          keyColumn: "n",
        }),
      'trigger "s": keyColumn and cursorColumn cannot both be set',
    ],
    [
      "an evaluate that is no function",
      () => p().sensor("f", { evaluate: 42 as never }),
      'trigger "f": evaluate must be a function',
    ],
    [
      "a run-status without a pipeline",
      () => p().onRunStatus("r", { pipeline: "" }),
      'trigger "r": pipeline is missing',
    ],
    [
      "a run-status on itself",
      () => p().onRunStatus("r", { pipeline: "delays" }),
      'trigger "r": pipeline is "delays" itself: each run would start the next one, for ever',
    ],
    [
      "an unknown status",
      () => p().onRunStatus("r", { pipeline: "train", status: ["done" as never] }),
      'trigger "r": status "done" is not how a run ends',
    ],
    [
      "a forwarded param the pipeline lacks",
      () => p().onRunStatus("r", { pipeline: "train", forwardParams: ["lr" as never] }),
      'trigger "r": forwardParams names "lr", which is not a param of pipeline "delays"',
    ],
    [
      "static params of the wrong type",
      () => p().onRunStatus("r", { pipeline: "train", params: { month: 1 as never } }),
      'trigger "r" requests an invalid run: param "month" is invalid',
    ],
  ];
  for (const [what, declare, message] of cases) {
    it(what, () => {
      const err = thrown(declare);
      expect(err.code).toBe("TRIGGER_INVALID");
      expect(err.message).toContain(message);
      expect(err.fields?.trigger).toBe(message.match(/trigger "([^"]+)"/)![1]);
    });
  }

  it("fills defaults for valid declarations", () => {
    const [sql, fn, rs] = compileTriggers(
      pipeline("delays", { params })
        .sensor("s", { sql: { engine: "sqlite", file: "a.db", query: "SELECT 1" } })
        .sensor("f", { evaluate: () => ({}) })
        .onRunStatus("r", { pipeline: "train" }),
    );
    expect(sql).toMatchObject({ kind: "sensor", source: "sql", intervalMs: 30_000, timeoutMs: 30_000 });
    expect(sql).toMatchObject({ maxRows: 10_000 });
    expect(fn).toMatchObject({ kind: "sensor", source: "function", intervalMs: 30_000 });
    expect(rs).toMatchObject({ kind: "run-status", statuses: ["succeeded"], forwardParams: [], intervalMs: 5_000 });
  });
});

const PIPELINE = `import { z } from "zod";
import { pipeline } from "trainyard";
const p = pipeline("cfg", { params: z.object({ month: z.string().default("2001-01"), lr: z.number().default(0.1) }) });
p.step("train", { params: ["month", "lr"], run: (ctx) => ctx.params.month });
p.schedule("nightly", { cron: "0 2 * * *" });
export default p;
`;

function project(config: string): string {
  const dir = homes.fixtureDir();
  fs.writeFileSync(path.join(dir, "pipeline.ts"), PIPELINE);
  fs.writeFileSync(path.join(dir, "trainyard.config.ts"), config);
  return dir;
}

const configOf = (triggers: string) => `import { defineConfig, onRunStatus, schedule, sensor } from "trainyard";
export default defineConfig({
  profiles: { fast: { lr: 0.5 } },
  triggers: { cfg: [${triggers}], other: [schedule("elsewhere", { cron: "0 3 * * *" })] },
});
`;

describe("triggers declared in trainyard.config.ts", () => {
  it("join the module's own triggers, compiled against the pipeline's params and the config's profiles", async () => {
    const dir = project(
      configOf(`
      onRunStatus("after-ingest", { pipeline: "ingest", forwardParams: ["month"], profile: "fast" }),
      sensor("warehouse", {
        sql: { engine: "sqlite", file: "w.db", query: "SELECT max(m) AS m FROM t" },
        cursorColumn: "m",
        paramsFrom: { month: "m" },
      }),`),
    );
    const { ty } = await homes.open();
    const loaded = await loadPipelineTriggers(ty, path.join(dir, "pipeline.ts"));
    expect(loaded.triggers.map((t) => [t.name, t.kind])).toEqual([
      ["nightly", "schedule"],
      ["after-ingest", "run-status"],
      ["warehouse", "sensor"],
    ]);
    expect(loaded.declaredIn).toEqual({
      nightly: "module",
      "after-ingest": path.join(dir, "trainyard.config.ts"),
      warehouse: path.join(dir, "trainyard.config.ts"),
    });
  });

  it("fail with the trigger and the config file when their params do not fit the pipeline", async () => {
    const dir = project(configOf(`onRunStatus("after-ingest", { pipeline: "ingest", params: { epochs: 3 } }),`));
    const { ty } = await homes.open();
    const err = await rejectionOf(loadPipelineTriggers(ty, path.join(dir, "pipeline.ts")));
    expect(err.code).toBe("TRIGGER_INVALID");
    expect(err.message).toContain('trigger "after-ingest" requests an invalid run: unknown param "epochs"');
    expect(err.message).toContain('for pipeline "cfg"');
    expect(err.message).toContain(`(in ${path.join(dir, "trainyard.config.ts")})`);
    expect(err.fields).toMatchObject({ trigger: "after-ingest", file: path.join(dir, "trainyard.config.ts") });
  });

  it("fail when the config loads on an invalid cron, and on a name the module already uses", async () => {
    const bad = project(configOf(`schedule("hourly", { cron: "61 * * * *" }),`));
    const { ty } = await homes.open();
    const cron = await rejectionOf(loadPipelineTriggers(ty, path.join(bad, "pipeline.ts")));
    expect(cron.code).toBe("TRIGGER_INVALID");
    expect(cron.message).toContain('trigger "hourly": cron "61 * * * *" is not valid');
    expect(cron.fields?.file).toBe(path.join(bad, "trainyard.config.ts"));
    const twice = project(configOf(`schedule("nightly", { cron: "0 4 * * *" }),`));
    const dup = await rejectionOf(loadPipelineTriggers(ty, path.join(twice, "pipeline.ts")));
    expect(dup.message).toContain('trigger "nightly" of pipeline "cfg" is declared twice');
    const shape = project(`export default { triggers: { cfg: [{ cron: "0 1 * * *" }] } };\n`);
    const raw = await rejectionOf(loadPipelineTriggers(ty, path.join(shape, "pipeline.ts")));
    expect(raw.message).toContain("triggers.cfg[0] is not a trigger declaration");
    expect(raw.hint).toContain("schedule(...)");
  });
});
