/**
 * Notifications, against a real HTTP server on 127.0.0.1 and a real command: a failed run and a
 * promotion reach a webhook with a Slack-compatible `text`, retried past server errors; a
 * command gets the event as argv and environment, never through a shell.
 */
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { deliver, loadNotificationTargets, type NotificationEvent } from "../../src/daemon/notifications.js";
import { openTickStore } from "../../src/daemon/open-tick-store.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry } from "../../src/lib/registry/open-registry.js";
import { CLI_FIXTURE } from "../cli/support.js";
import { waitFor } from "./support.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-notify-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A webhook receiver that answers 503 to the first `failFirst` requests. */
async function receiver(failFirst: number) {
  const bodies: Array<Record<string, unknown>> = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      requests++;
      if (requests <= failFirst) {
        res.writeHead(503).end("busy");
        return;
      }
      bodies.push(JSON.parse(body));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return { url, bodies, requests: () => requests, close: () => new Promise((r) => server.close(r)) };
}

const event: NotificationEvent = {
  type: "run.failed",
  at: 1,
  text: "run r1 failed; $(touch PWNED) `id` | rm -rf ~",
  runId: "r1",
};

describe("notifications", () => {
  it("retries a webhook through server errors and posts a Slack-compatible text", async () => {
    const hook = await receiver(2);
    try {
      const r = await deliver({ url: hook.url }, event);
      expect(r).toMatchObject({ ok: true, attempts: 3 });
      expect(hook.bodies).toEqual([expect.objectContaining({ type: "run.failed", text: event.text, runId: "r1" })]);
    } finally {
      await hook.close();
    }
  });

  it("gives a command the event as separate arguments and in its environment, with no shell", async () => {
    const out = path.join(root, "command-out.json");
    const script =
      "require('fs').writeFileSync(process.argv[1], JSON.stringify({ argv: " +
      "process.argv.slice(2), env: JSON.parse(process.env.TRAINYARD_EVENT) }))";
    const r = await deliver({ command: process.execPath, args: ["-e", script, out, "{type}", "{text}"] }, event);
    expect(r.ok).toBe(true);
    const got = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(got.argv).toEqual(["run.failed", event.text]);
    expect(got.env).toMatchObject({ type: "run.failed", runId: "r1" });
    expect(fs.existsSync(path.join(process.cwd(), "PWNED"))).toBe(false);
  });

  it("reads <home>/notifications.json and names the file when it is wrong", () => {
    const home = path.join(root, "config");
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(
      path.join(home, "notifications.json"),
      JSON.stringify({ targets: [{ url: "http://127.0.0.1:1/x", on: ["run.failed"] }] }),
    );
    expect(loadNotificationTargets(home)).toEqual([{ url: "http://127.0.0.1:1/x", on: ["run.failed"] }]);
    fs.writeFileSync(
      path.join(home, "notifications.json"),
      JSON.stringify({ targets: [{ url: "http://x", on: ["run.exploded"] }] }),
    );
    expect(() => loadNotificationTargets(home)).toThrow(/notifications.json: unknown event type "run.exploded"/);
  });

  it("a daemon reports a run it launched that failed, and a promotion, to the webhook", async () => {
    const hook = await receiver(1);
    const home = path.join(root, "daemon");
    const ty = await Trainyard.open({ home });
    const store = await openTickStore(ty);
    const now = Date.now();
    await store.enqueueRuns([
      {
        runId: "will-fail",
        trigger: "api",
        tickKey: "k",
        pipeline: "cli-demo",
        modulePath: CLI_FIXTURE,
        params: { fail: true },
        priority: 0,
        createdAt: now,
        status: "queued",
      },
    ]);
    const daemon = new Daemon(ty, store, { intervalMs: 100, notifications: [{ url: hook.url }] });
    const running = daemon.run();
    try {
      await waitFor("the failed run's notification", () => hook.bodies.some((b) => b.type === "run.failed"), 60_000);
      const reg = openRegistry(ty);
      const { version } = await reg.registerVersion({ model: "delays", artifactDigest: `sha256:${"a".repeat(64)}` });
      await reg.setAlias("delays", "production", version.version, { actor: "user:test", reason: "first model" });
      await waitFor("the promotion's notification", () => hook.bodies.some((b) => b.type === "model.promoted"), 30_000);
    } finally {
      daemon.stop();
      await running;
      await hook.close();
    }
    const failed = hook.bodies.find((b) => b.type === "run.failed")!;
    expect(failed).toMatchObject({ runId: "will-fail", pipeline: "cli-demo", trigger: "api" });
    expect(failed.text).toMatch(/^Trainyard run will-fail of cli-demo \(api\) failed: .*check failed on purpose/);
    const promoted = hook.bodies.find((b) => b.type === "model.promoted")!;
    expect(promoted).toMatchObject({ model: "delays", alias: "production", version: 1 });
    expect(promoted.text).toMatch(/delays@production now points at version 1, by user:test: first model/);
    await store.close();
    await ty.close();
  }, 120_000);
});
