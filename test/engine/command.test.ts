import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/index.js";
import { processAlive, stepOf, useHomes, waitFor } from "./support.js";

const homes = useHomes();

/** A pipeline "defined" in `dir`, so command `files` and the command's cwd resolve there. */
function located<P extends ReturnType<typeof pipeline<any>>>(p: P, dir: string): P {
  p.modulePath = path.join(dir, "pipeline.ts");
  return p;
}

describe("command steps", () => {
  it("hand inputs over as files and collect the declared outputs", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const p = located(pipeline("cmd-io", { params: z.object({ greeting: z.string().default("hi") }) }), dir);
    const data = p.step("data", {
      run: (ctx) => {
        fs.writeFileSync(path.join(ctx.workdir, "rows.csv"), "a,b\n1,2\n");
        return ctx.dataset("rows.csv", { format: "csv", rows: 1 });
      },
    });
    const cfg = p.step("cfg", { run: () => ({ threshold: 0.5 }) });
    const cmd = p.command("transform", {
      inputs: { data, cfg },
      params: ["greeting"],
      run:
        'cat "$TRAINYARD_INPUT_DATA" > "$TRAINYARD_OUT/copy.csv" ' +
        '&& cat "$TRAINYARD_INPUT_CFG" > "$TRAINYARD_OUT/cfg.json" ' +
        '&& printf "%s {params.greeting}" "$(pwd)" > "$TRAINYARD_OUT/where" && echo "wrote outputs"',
      outputs: { copy: { path: "copy.csv", kind: "dataset" }, cfg: { path: "cfg.json", kind: "json" }, where: "file" },
    });
    p.step("check", {
      inputs: { cmd },
      run: (_ctx, { cmd }) => ({
        copy: fs.readFileSync(cmd.copy.path, "utf8"),
        cfg: JSON.parse(fs.readFileSync(cmd.cfg.path, "utf8")),
        where: fs.readFileSync(cmd.where.path, "utf8"),
      }),
    });
    const r = await ty.run(p);
    expect(stepOf(r, "transform").error?.message).toBeUndefined();
    expect(r.status).toBe("succeeded");
    expect(await ty.output(r.runId, "check")).toEqual({
      copy: "a,b\n1,2\n",
      cfg: { threshold: 0.5 },
      where: `${fs.realpathSync(dir)} hi`,
    });
    const logs = await ty.metadata.getLogs(`${r.runId}:transform`);
    expect(logs).toContainEqual(expect.objectContaining({ stream: "stdout", line: "wrote outputs", attempt: 1 }));
  });

  it("fail with COMMAND_FAILED naming the step, the exit code and the end of stderr", async () => {
    const { ty } = await homes.open();
    const p = located(pipeline("cmd-fail"), homes.tempDir());
    p.command("train", { run: "echo starting; echo 'first problem' >&2; echo 'CUDA out of memory' >&2; exit 3" });
    p.step("after", { inputs: { t: p.ref("train") }, run: () => 1 });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const err = stepOf(r, "train").error!;
    expect(err.code).toBe("COMMAND_FAILED");
    expect(err.message).toContain('"train"');
    expect(err.message).toContain("exited with code 3");
    expect(err.message).toContain("CUDA out of memory");
    expect(err.hint).toContain(`trainyard logs ${r.runId} train`);
    expect(stepOf(r, "after").status).toBe("skipped");
    const logs = (await ty.metadata.getLogs(`${r.runId}:train`)).map((l) => `${l.stream}:${l.line}`);
    expect(logs).toEqual(
      expect.arrayContaining(["stdout:starting", "stderr:first problem", "stderr:CUDA out of memory"]),
    );
    expect((await ty.metadata.getRun(r.runId))!.status).toBe("failed");
  });

  it("fail with OUTPUT_INVALID when a declared output was not written", async () => {
    const { ty } = await homes.open();
    const p = located(pipeline("cmd-missing"), homes.tempDir());
    p.command("export", {
      run: 'echo x > "$TRAINYARD_OUT/other.txt"',
      outputs: { model: { path: "model.onnx", kind: "model" } },
    });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const err = stepOf(r, "export").error!;
    expect(err.code).toBe("OUTPUT_INVALID");
    expect(err.message).toContain('"export"');
    expect(err.message).toContain("model.onnx");
    expect(err.hint).toContain("other.txt");
  });

  it("run argv arrays without a shell, with {out} and {params.X} expanded", async () => {
    const { ty } = await homes.open();
    const p = located(
      pipeline("cmd-argv", { params: z.object({ name: z.string().default("a b; echo injected") }) }),
      homes.tempDir(),
    );
    const c = p.command("touch", {
      params: ["name"],
      run: [
        process.execPath,
        "-e",
        "require('fs').writeFileSync(process.argv[1] + '/name.txt', process.argv[2])",
        "{out}",
        "{params.name}",
      ],
      outputs: { "name.txt": "file" },
    });
    p.step("read", { inputs: { c }, run: (_ctx, { c }) => fs.readFileSync(c["name.txt"].path, "utf8") });
    const r = await ty.run(p);
    expect(r.status).toBe("succeeded");
    expect(await ty.output(r.runId, "read")).toBe("a b; echo injected");
  });

  it("are killed, with their children, when they run past their timeout", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const pidFile = path.join(dir, "pid");
    const p = located(pipeline("cmd-timeout"), dir);
    p.command("stuck", { timeout: "300ms", run: `sleep 30 & echo $! > "${pidFile}"; wait` });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    expect(stepOf(r, "stuck").error?.code).toBe("STEP_TIMEOUT");
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    await waitFor(() => !processAlive(pid), `the command's child process ${pid} to be killed`, 10_000);
  });

  it("put the files they name into their cache key: editing the script reruns the step", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const script = path.join(dir, "score.sh");
    const counter = path.join(dir, "runs.log");
    fs.writeFileSync(script, `echo run >> "${counter}"\necho 1 > "$TRAINYARD_OUT/score"\n`);
    const make = () => {
      const p = located(pipeline("cmd-files"), dir);
      p.command("score", { run: "sh score.sh", files: ["score.sh"], outputs: { score: "file" } });
      return p;
    };
    const runs = () => fs.readFileSync(counter, "utf8").split("\n").filter(Boolean).length;
    const r1 = await ty.run(make());
    expect(r1.status).toBe("succeeded");
    const r2 = await ty.run(make());
    expect(stepOf(r2, "score").cached).toBe(true);
    expect(runs()).toBe(1);
    fs.writeFileSync(script, `echo run >> "${counter}"\necho 2 > "$TRAINYARD_OUT/score"\n# v2\n`);
    const r3 = await ty.run(make());
    expect(stepOf(r3, "score").cached).toBe(false);
    expect(runs()).toBe(2);
    const why = await ty.why(r3.runId, "score");
    expect(why.reasons.join("\n")).toMatch(/file score\.sh changed/);
  });

  it("fail before running when a named file is missing, naming the step and the file", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const p = located(pipeline("cmd-nofile"), dir);
    p.command("score", { run: "sh score.py", files: ["score.py"] });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const err = stepOf(r, "score").error!;
    expect(err.message).toContain("score");
    expect(err.message).toContain(path.join(dir, "score.py"));
  });

  it(
    "each get an empty work directory of their own, " +
      "though directories are recycled, and the run leaves none behind",
    async () => {
      const { ty } = await homes.open();
      const dir = homes.tempDir();
      const p = located(pipeline("cmd-workdirs"), dir);
      let prev: ReturnType<typeof p.command<{ out: "file" }>> | undefined;
      for (let i = 0; i < 8; i++) {
        // Every step lists what it finds, then leaves scratch behind on odd steps only.
        prev = p.command(`s${i}`, {
          inputs: prev ? { prev: prev.pick("out") } : {},
          run:
            `ls -A "$TRAINYARD_WORKDIR" "$TRAINYARD_OUT" > "$TRAINYARD_OUT/out"; ` +
            `echo "$TRAINYARD_WORKDIR" ` +
            `>> "$TRAINYARD_OUT/out"${i % 2 ? '; echo scratch > "$TRAINYARD_WORKDIR/scratch"' : ""}`,
          outputs: { out: "file" },
        });
      }
      const r = await ty.run(p, { concurrency: 1 });
      expect(r.status).toBe("succeeded");
      const dirs = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const out = (await ty.output(r.runId, `s${i}`)) as { out: { path: string } };
        const lines = fs.readFileSync(out.out.path, "utf8").trim().split("\n");
        const workdir = lines.pop()!;
        dirs.add(workdir);
        // The work directory holds only out/, and out/ only the file being written (the
        // redirection creates it before ls runs): no scratch of an earlier step.
        expect(lines.filter((l) => l && !l.endsWith(":"))).toEqual(["out", "out"]);
      }
      // Recycled directories are renamed: no two attempts ever see one path.
      expect(dirs.size).toBe(8);
      expect(fs.readdirSync(ty.workRoot).filter((name) => name.startsWith("work-"))).toEqual([]);
      // Nor are the run's process records and value files left behind.
      for (const sub of ["procs", "values"]) expect(fs.readdirSync(path.join(ty.workRoot, sub))).toEqual([]);
    },
  );

  it("never hand a failed attempt's work directory to a later step", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const p = located(pipeline("cmd-workdir-fail"), dir);
    const first = p.command("flaky", {
      retry: { attempts: 2, initialDelayMs: 1 },
      run:
        `if [ ! -e "${dir}/tried" ]; then touch "${dir}/tried"; ` +
        `echo "$TRAINYARD_WORKDIR" > "${dir}/failed-dir"; exit 1; fi; ` +
        `echo ok > "$TRAINYARD_OUT/out"`,
      outputs: { out: "file" },
    });
    p.command("next", {
      inputs: { prev: first.pick("out") },
      run: `echo "$TRAINYARD_WORKDIR" > "$TRAINYARD_OUT/out"`,
      outputs: { out: "file" },
    });
    const r = await ty.run(p, { concurrency: 1 });
    expect(r.status).toBe("succeeded");
    expect(stepOf(r, "flaky").attempts).toBe(2);
    const failed = fs.readFileSync(path.join(dir, "failed-dir"), "utf8").trim();
    const next = (await ty.output(r.runId, "next")) as { out: { path: string } };
    expect(fs.readFileSync(next.out.path, "utf8").trim()).not.toBe(failed);
  });

  it(
    "run shell text as sh -c would: no positional parameters, " + "multi-line scripts, quotes, exit and syntax errors",
    async () => {
      const { ty } = await homes.open();
      const dir = homes.tempDir();
      const p = located(pipeline("cmd-shell"), dir);
      p.command("script", {
        run:
          `set -e\nx='it'"'"'s'\nprintf '%s|%s|%s\\n' "$#" "$1" "$x" > "$TRAINYARD_OUT/out"\nif true; ` +
          `then echo "second line" >> "$TRAINYARD_OUT/out"; fi`,
        outputs: { out: "file" },
      });
      p.command("env", {
        env: { GREETING: "hello there", HOME: "/overridden" },
        run: `echo "$GREETING|$HOME|$TY_TEST_INHERITED|$TRAINYARD_STEP" > "$TRAINYARD_OUT/out"`,
        outputs: { out: "file" },
      });
      p.command("logs", { run: `printf 'a\\n\\nb'; echo e >&2; : > "$TRAINYARD_OUT/out"`, outputs: { out: "file" } });
      p.command("exits", { run: "echo before; exit 7; echo after", outputs: { out: "file" } });
      p.command("syntax", { run: "if then fi", outputs: { out: "file" } });
      process.env.TY_TEST_INHERITED = "from the orchestrator";
      const r = await ty.run(p, { concurrency: 1 }).finally(() => delete process.env.TY_TEST_INHERITED);
      const out = (await ty.output(r.runId, "script")) as { out: { path: string } };
      expect(fs.readFileSync(out.out.path, "utf8")).toBe("0||it's\nsecond line\n");
      const env = (await ty.output(r.runId, "env")) as { out: { path: string } };
      expect(fs.readFileSync(env.out.path, "utf8")).toBe("hello there|/overridden|from the orchestrator|env\n");
      // Lines as printed, a blank one kept, the unterminated last one too, and nothing invented.
      const logs = (await ty.metadata.getLogs(`${r.runId}:logs`)).map((l) => `${l.stream}:${l.line}`);
      expect(logs.filter((l) => l.startsWith("stdout:"))).toEqual(["stdout:a", "stdout:", "stdout:b"]);
      expect(logs.filter((l) => l.startsWith("stderr:"))).toEqual(["stderr:e"]);
      expect(stepOf(r, "exits").error?.message).toContain("exited with code 7");
      expect(stepOf(r, "syntax").error?.message).toContain("exited with code 2");
    },
  );
});
