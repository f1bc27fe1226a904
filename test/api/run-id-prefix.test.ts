/**
 * A run-id prefix that several runs share, as a user meets it: two runs of a tiny pipeline (ids
 * made by the engine) and runs whose ids nest, on a real SQLite home and a real PostgreSQL. The
 * HTTP API answers 409 RUN_AMBIGUOUS with the matches on every run route, and the built CLI
 * prints the matches and exits 2, where both used to say `no run "<prefix>"`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/core/pipeline.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { cli } from "../cli/support.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { type ApiClient, openApiViolations, startApi } from "./support.js";

const postgres = requireTools("postgresql");

interface Seeded {
  /** The two engine-made runs, oldest first, and the prefix they share. */
  first: string;
  second: string;
  common: string;
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

async function seed(ty: Trainyard): Promise<Seeded> {
  const p = pipeline("prefix-demo");
  p.step("answer", { cache: false, run: () => 42 });
  const first = (await ty.run(p)).runId;
  const second = (await ty.run(p)).runId;
  // An id that begins a longer one: typed whole, it names its own run.
  const base = { pipeline: "nested", modulePath: "/nested.ts", params: {}, codeVersion: "c", options: {} };
  await ty.metadata.createRun({ ...base, id: "nest-a", status: "failed", createdAt: 1, trigger: "manual" });
  await ty.metadata.createRun({ ...base, id: "nest-ab", status: "succeeded", createdAt: 2, trigger: "manual" });
  return { first, second, common: commonPrefix(first, second) };
}

function describeBackend(
  name: string,
  open: () => Promise<{ ty: Trainyard; home: string; stop: () => Promise<void> }>,
) {
  let ty: Trainyard;
  let home: string;
  let stop: () => Promise<void>;
  let api: ApiClient;
  let runs: Seeded;

  beforeAll(async () => {
    ({ ty, home, stop } = await open());
    runs = await seed(ty);
    api = await startApi(ty);
  }, 60_000);
  afterAll(async () => {
    await api?.server.close();
    await ty?.close();
    await stop?.();
  });

  it(`${name}: GET /runs/{prefix of two runs} answers 409 RUN_AMBIGUOUS listing both, newest first`, async () => {
    const { first, second, common } = runs;
    expect(common.length).toBeGreaterThan(0);
    const r = await api.get("runDetail", `/runs/${common}`);
    expect(r.status).toBe(409);
    const error = r.body.error;
    expect(error).toMatchObject({ code: "RUN_AMBIGUOUS", runId: common, matchCount: 2 });
    expect(error.message).toContain(`run id prefix "${common}" matches 2 runs:`);
    // One character past the shared part names each run alone.
    const enough = common.length + 1;
    expect(error.matches).toEqual([
      expect.objectContaining({
        id: second,
        pipeline: "prefix-demo",
        status: "succeeded",
        uniquePrefix: second.slice(0, enough),
      }),
      expect.objectContaining({
        id: first,
        pipeline: "prefix-demo",
        status: "succeeded",
        uniquePrefix: first.slice(0, enough),
      }),
    ]);
    expect(error.hint).toContain(`${enough} characters tell the runs listed apart`);
    const unique = await api.get("runDetail", `/runs/${second.slice(0, enough)}`);
    expect(unique.status).toBe(200);
    expect(unique.body.run.id).toBe(second);
  });

  it(`${name}: the other run routes (events, cancel, compare, data reports) refuse the prefix alike`, async () => {
    const { first, common } = runs;
    const answers = [
      await api.get("runEvents", `/runs/${common}/events`),
      await api.post("cancelRun", `/runs/${common}/cancel`),
      await api.get("compareRuns", `/compare?runs=${common},${first}`),
      await api.get("runTags", `/runs/${common}/tags`),
      await api.get(null, `/data/reports?run=${common}`),
    ];
    for (const a of answers) expect([a.status, a.body.error?.code]).toEqual([409, "RUN_AMBIGUOUS"]);
  });

  it(`${name}: an exact id wins over the longer ids it begins; no match is still 404`, async () => {
    expect((await api.get("runDetail", "/runs/nest-a")).body.run.id).toBe("nest-a");
    const nested = await api.get("runDetail", "/runs/nest-");
    expect(nested.status).toBe(409);
    expect(nested.body.error.matches.map((m: { uniquePrefix: string }) => m.uniquePrefix)).toEqual([
      "nest-ab",
      "nest-a",
    ]);
    const none = await api.get("runDetail", "/runs/nope");
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe("NOT_FOUND");
    expect(none.body.error.message).toMatch(/^no run "nope" in /);
    expect(openApiViolations(api)).toEqual([]);
  });

  return {
    runs: () => runs,
    home: () => home,
  };
}

describe("SQLite home", () => {
  const backend = describeBackend("sqlite", async () => {
    const home = mkdtempSync(join(tmpdir(), "ty-prefix-"));
    const ty = await Trainyard.open({ home });
    return { ty, home, stop: async () => rmSync(home, { recursive: true, force: true }) };
  });

  it("the built CLI prints the matches and exits 2 for show and cancel, 1 for no match", async () => {
    const { first, second, common } = backend.runs();
    const home = backend.home();
    for (const command of ["show", "cancel"]) {
      const r = await cli([command, common], home);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`error[RUN_AMBIGUOUS]: run id prefix "${common}" matches 2 runs:`);
      expect(r.stderr).toMatch(new RegExp(`${second} +prefix-demo +\\d{4}-\\d\\d-\\d\\d [\\d:]{8}Z +succeeded`));
      expect(r.stderr).toContain(first);
      expect(r.stderr).toContain(`hint: type more of the run id (${common.length + 1} characters`);
      expect(r.stderr).not.toContain("no run");
    }
    const unique = await cli(["show", first.slice(0, common.length + 1)], home);
    expect(unique.code, unique.stderr).toBe(0);
    expect(unique.stdout).toContain(first);
    const none = await cli(["show", "nope"], home);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error[NOT_FOUND]: no run "nope"');
  }, 60_000);
});

postgres.describe("PostgreSQL metadata", () => {
  let server: TestPostgres;
  describeBackend("postgres", async () => {
    server = await startPostgres();
    const home = mkdtempSync(join(tmpdir(), "ty-prefix-pg-"));
    const ty = await Trainyard.open({ home, metadata: { kind: "postgres", url: server.url } });
    const stop = async () => {
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    };
    return { ty, home, stop };
  });
});
