/** A run id fixed in advance (the daemon's queue) is used once: a second launch is refused. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteMetadataStore } from "../../src/store/sqlite-metadata-store.js";
import { cli, CLI_FIXTURE, startCli, summaryOf } from "../cli/support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-runid-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("trainyard run --run-id --trigger", () => {
  it("records the given id and trigger label, and refuses the same id again", async () => {
    const home = path.join(root, "a");
    const first = await cli(
      ["run", CLI_FIXTURE, "--run-id", "fixed-run-1", "--trigger", "schedule:nightly", "--json"],
      home,
    );
    expect(summaryOf(first)).toMatchObject({ runId: "fixed-run-1", status: "succeeded" });
    const again = await cli(["run", CLI_FIXTURE, "--run-id", "fixed-run-1", "--json"], home);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/run fixed-run-1 already exists/);
    const db = new SqliteMetadataStore(path.join(home, "metadata.db"));
    const runs = await db.listRuns();
    await db.close();
    expect(runs.map((r) => [r.id, r.trigger, r.status])).toEqual([["fixed-run-1", "schedule:nightly", "succeeded"]]);
  });

  it("lets exactly one of two simultaneous launches of one id create the run", async () => {
    const home = path.join(root, "b");
    const args = ["run", CLI_FIXTURE, "--run-id", "twin", "--trigger", "sensor:landing", "--json"];
    const [a, b] = await Promise.all([startCli(args, home).done, startCli(args, home).done]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 1]);
    expect([a.stderr, b.stderr].join("\n")).toMatch(/run twin already exists/);
    const db = new SqliteMetadataStore(path.join(home, "metadata.db"));
    const runs = await db.listRuns();
    await db.close();
    expect(runs.map((r) => [r.id, r.status])).toEqual([["twin", "succeeded"]]);
  });
});
