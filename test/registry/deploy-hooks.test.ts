/** Deploy hooks after an alias moves: a loopback webhook, a command, failures recorded. */
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { openRegistry, promoteAlias, rollbackAlias, type DeployEvent } from "../../src/lib/registry/index.js";
import { openModelHome, trainAndRegister } from "./model-home.js";

let ty: Trainyard;
let hookServer: Server;
let hookUrl: string;
const received: DeployEvent[] = [];

beforeAll(async () => {
  ty = await openModelHome();
  await trainAndRegister(ty, "lin", 2);
  await trainAndRegister(ty, "lin", 3);
  hookServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/fail") return void res.writeHead(503).end();
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => hookServer?.close(r));
  await ty?.close();
});

describe("deploy hooks", () => {
  it("posts the move to a webhook and runs a command with the event in its environment", async () => {
    const envFile = join(ty.home, "hook-env.txt");
    const r = await promoteAlias(ty, "lin", "production", 1, {
      actor: "run:r42",
      reason: "first",
      hooks: [
        { url: `${hookUrl}/deploy` },
        {
          command:
            `echo ` +
            `"$TRAINYARD_MODEL $TRAINYARD_ALIAS $TRAINYARD_VERSION $TRAINYARD_ACTOR" > ${JSON.stringify(envFile)}`,
        },
      ],
    });
    expect(r.hooks.map((h) => h.ok)).toEqual([true, true]);
    expect(received.at(-1)).toMatchObject({
      type: "alias.moved",
      model: "lin",
      alias: "production",
      action: "set",
      toVersion: 1,
      actor: "run:r42",
      reason: "first",
      forced: false,
    });
    expect(received.at(-1)!.artifactDigest).toMatch(/^(sha256|sha256-blocks-8m|sha256-tree):[0-9a-f]{64}$/);
    expect(readFileSync(envFile, "utf8").trim()).toBe("lin production 1 run:r42");
    expect((await openRegistry(ty).listDeployHooks(r.event!.id)).map((h) => h.ok)).toEqual([true, true]);
  });

  it("never lets an actor or reason become shell code in a command hook", async () => {
    const envFile = join(ty.home, "hook-injection.txt");
    const marker = join(ty.home, "pwned");
    const actor = `x"; touch ${marker}; echo "`;
    const reason = `$(touch ${marker}) \`touch ${marker}\``;
    const r = await promoteAlias(ty, "lin", "canary", 1, {
      actor,
      reason,
      hooks: [{ command: `printf '%s|%s' "$TRAINYARD_ACTOR" "$TRAINYARD_REASON" > ${JSON.stringify(envFile)}` }],
    });
    expect(r.hooks.map((h) => [h.ok, h.detail])).toEqual([[true, "exit 0"]]);
    expect(readFileSync(envFile, "utf8")).toBe(`${actor}|${reason}`);
    expect(existsSync(marker)).toBe(false);
  });

  it("kills a command hook's whole process group when it times out", async () => {
    const pidFile = join(ty.home, "hook-child.pid");
    const r = await promoteAlias(ty, "lin", "canary", 2, {
      hooks: [{ command: `sleep 60 & echo $! > ${JSON.stringify(pidFile)}; wait`, timeoutMs: 500 }],
    });
    expect(r.hooks[0].ok).toBe(false);
    const pid = Number(readFileSync(pidFile, "utf8"));
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(alive(pid)).toBe(false);
  });

  it("records failed hooks without failing the move, unless a hook is required", async () => {
    const r = await promoteAlias(ty, "lin", "production", 2, {
      hooks: [{ url: `${hookUrl}/fail` }, { command: "exit 3" }],
    });
    expect(r.alias.version).toBe(2);
    expect(r.hooks.map((h) => [h.ok, h.detail])).toEqual([
      [false, "HTTP 503"],
      [false, "exit 3"],
    ]);
    const stored = await openRegistry(ty).listDeployHooks(r.event!.id);
    expect(stored.map((h) => h.detail)).toEqual(["HTTP 503", "exit 3"]);

    const err = (await rollbackAlias(ty, "lin", "production", {
      hooks: [{ url: "http://127.0.0.1:1/unreachable", required: true, timeoutMs: 2000 }],
    }).then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; hint: string };
    expect(err).toMatchObject({ code: "DEPLOY_HOOK_FAILED" });
    expect(err.hint).toContain("trainyard models rollback lin --alias production");
    expect((await openRegistry(ty).getAlias("lin", "production"))?.version).toBe(1);
  });

  it("skips hooks limited to other aliases and runs the home's configured hooks from the CLI", async () => {
    writeFileSync(
      join(ty.home, "deploy-hooks.json"),
      JSON.stringify({
        hooks: [
          { url: `${hookUrl}/deploy`, aliases: ["staging"] },
          { url: `${hookUrl}/deploy`, aliases: ["production"] },
        ],
      }),
    );
    const before = received.length;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["bin/trainyard.js", "models", "promote", "lin@2", "--alias", "staging", "--home", ty.home],
      { env: { ...process.env, NO_COLOR: "1" } },
    );
    expect(stdout).toContain(`hook ${hookUrl}/deploy: ok`);
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)).toMatchObject({ alias: "staging", toVersion: 2, actor: "cli" });
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
