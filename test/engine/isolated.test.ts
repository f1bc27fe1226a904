import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { FIXTURES, processAlive, stepOf, tempDir, useHomes, waitFor } from "./support.js";

const homes = useHomes();
const MODULE = path.join(FIXTURES, "isolated.ts");

// One home for the whole file: every test passes its own `dir`, so no cache key is shared.
let ty: Trainyard;
let home: string;
beforeAll(async () => {
  home = tempDir("ty-isolated-");
  ty = await Trainyard.open({ home });
});
afterAll(async () => {
  await ty.close();
  fs.rmSync(home, { recursive: true, force: true });
});

describe("isolated steps", () => {
  it("run in another process and return their output", async () => {
    const dir = homes.tempDir();
    const r = await ty.run(MODULE, { params: { dir, mode: "pid" } });
    expect(r.status).toBe("succeeded");
    const out = (await ty.output(r.runId, "work")) as { pid: number; attempt: number };
    expect(out.attempt).toBe(1);
    expect(out.pid).not.toBe(process.pid);
    expect(Number(fs.readFileSync(path.join(dir, "pid-1"), "utf8"))).toBe(out.pid);
    const logs = await ty.metadata.getLogs(`${r.runId}:work`);
    expect(logs.map((l) => l.line)).toContain(`child ${out.pid} mode pid`);
  });

  it("store the files they produce in the artifact store", async () => {
    const dir = homes.tempDir();
    const r = await ty.run(MODULE, { params: { dir, mode: "file" } });
    expect(r.status).toBe("succeeded");
    const out = (await ty.output(r.runId, "work")) as {
      pid: number;
      model: { digest: string; path: string; $artifact: string };
    };
    const content = `weights from ${out.pid}`;
    expect(out.model.$artifact).toBe("model");
    expect(fs.readFileSync(out.model.path, "utf8")).toBe(content);
    expect(out.model.digest).toBe(`sha256:${createHash("sha256").update(content).digest("hex")}`);
    expect(await ty.artifacts.has(out.model.digest)).toBe(true);
  });

  it("are killed when they run past their timeout (STEP_TIMEOUT)", async () => {
    const dir = homes.tempDir();
    const running = ty.run(path.join(FIXTURES, "isolated-hang.ts"), { params: { dir } });
    const pid = Number(
      await waitFor(
        () => fs.existsSync(path.join(dir, "pid")) && fs.readFileSync(path.join(dir, "pid"), "utf8"),
        "the isolated step to start",
      ),
    );
    const r = await running;
    expect(r.status).toBe("failed");
    const s = stepOf(r, "hang");
    expect(s.error?.code).toBe("STEP_TIMEOUT");
    expect(s.error?.message).toContain('"hang"');
    expect(pid).not.toBe(process.pid);
    await waitFor(() => !processAlive(pid), `process ${pid} of the timed-out step to be gone`, 10_000);
  });

  it("fail with a clear error when they exceed isolate.memoryMb", async () => {
    const dir = homes.tempDir();
    const r = await ty.run(MODULE, { params: { dir, mode: "oom" } });
    expect(r.status).toBe("failed");
    const err = stepOf(r, "work").error!;
    expect(err.code).toBe("STEP_FAILED");
    expect(err.message).toContain('"work"');
    expect(err.message).toMatch(/out of memory/);
    expect(err.hint).toMatch(/64 MB/);
    expect(err.hint).toMatch(/memoryMb/);
  });

  it("keep the Fatal classification across the process boundary", async () => {
    const dir = homes.tempDir();
    const r = await ty.run(MODULE, { params: { dir, mode: "fatal" } });
    expect(r.status).toBe("failed");
    expect(stepOf(r, "work").attempts).toBe(1);
    expect(stepOf(r, "work").error?.message).toContain("isolated fatal error");
  });

  it("retry an ordinary error raised in the child, in a fresh process", async () => {
    const dir = homes.tempDir();
    const r = await ty.run(MODULE, { params: { dir, mode: "flaky" } });
    expect(r.status).toBe("succeeded");
    expect(stepOf(r, "work").attempts).toBe(2);
    expect(fs.readFileSync(path.join(dir, "attempts"), "utf8")).toBe("1\n2\n");
    expect(fs.readFileSync(path.join(dir, "pid-1"), "utf8")).not.toBe(fs.readFileSync(path.join(dir, "pid-2"), "utf8"));
  });

  it("need a pipeline loaded from a module file", async () => {
    const p = pipeline("inproc-isolated");
    p.step("iso", { isolate: true, run: () => process.pid });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    expect(stepOf(r, "iso").error?.code).toBe("PIPELINE_INVALID");
    expect(stepOf(r, "iso").error?.hint).toMatch(/module path/);
  });
});
