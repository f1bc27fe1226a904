/**
 * `trainyard ui` and `trainyard cancel` as a user runs them: child processes of bin/trainyard.js
 * on a temp home, their output read and the server they start called over HTTP.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli, startCli } from "../cli/support.js";
import { REPO } from "../engine/support.js";
import { API_FIXTURE } from "./support.js";

const home = mkdtempSync(join(tmpdir(), "ty-api-cli-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Starts `trainyard ui` and waits for the line with its URL. */
async function startUi(args: string[]) {
  const { child, done } = startCli(["ui", API_FIXTURE, "--port", "0", ...args], home);
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /at (http:\/\/[^/\s]+)\//.exec(out);
      if (m && out.includes("\n")) resolve(m[1]);
    });
    void done.then((r) => reject(new Error(`trainyard ui exited: ${r.stderr}`)));
  });
  await new Promise((r) => setTimeout(r, 200));
  return { child, done, url, output: () => out };
}

describe("trainyard ui", () => {
  it("serves the API on loopback, the UI (or how to build it), and stops on SIGTERM", async () => {
    const ui = await startUi([]);
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const pipelines = (await (await fetch(`${ui.url}/api/v1/pipelines`)).json()) as any;
    expect(pipelines.pipelines.map((p: { name: string }) => p.name)).toContain("api-demo");
    const page = await fetch(`${ui.url}/runs/some-run`);
    if (existsSync(join(REPO, "dist", "ui", "index.html"))) expect(page.status).toBe(200);
    else {
      expect(page.status).toBe(503);
      expect(((await page.json()) as any).error.hint).toContain("npm run build");
    }
    ui.child.kill("SIGTERM");
    expect((await ui.done).code).toBe(0);
  });

  it("prints a token when bound beyond loopback, and refuses changes with --read-only", async () => {
    const ui = await startUi(["--host", "127.0.0.2", "--read-only"]);
    const token = /\?token=(\S+)/.exec(ui.output())?.[1];
    expect(token).toBeTruthy();
    expect(ui.output()).toContain("read-only");
    expect((await fetch(`${ui.url}/api/v1/runs`)).status).toBe(401);
    const headers = { authorization: `Bearer ${token}`, "x-requested-with": "t", "content-type": "application/json" };
    const launch = await fetch(`${ui.url}/api/v1/runs`, { method: "POST", headers, body: '{"pipeline":"api-demo"}' });
    expect(launch.status).toBe(403);
    expect(((await launch.json()) as any).error.code).toBe("API_READ_ONLY");
    ui.child.kill("SIGTERM");
    await ui.done;
  });
});

describe("trainyard cancel", () => {
  it("takes a queued run out of the daemon's queue", async () => {
    const queued = await cli(["trigger", API_FIXTURE, "--json"], home);
    expect(queued.code, queued.stderr).toBe(0);
    const { runId } = JSON.parse(queued.stdout);
    const cancelled = await cli(["cancel", runId, "--json"], home);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ runId, action: "dequeued" });
    const again = await cli(["cancel", runId], home);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("NOT_FOUND");
  });
});
