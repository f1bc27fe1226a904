/** User text never becomes shell code; large params reach commands; outputs stay inside $TRAINYARD_OUT. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/index.js";
import { expandForShell } from "../../src/engine/runners/command-placeholders.js";
import { stepOf, useHomes } from "./support.js";

const homes = useHomes();

function located<P extends ReturnType<typeof pipeline<any>>>(p: P, dir: string): P {
  p.modulePath = path.join(dir, "pipeline.ts");
  return p;
}

/** Hostile values: each would run `touch <marker>` or glob if pasted into shell text. */
function hostile(marker: string): Record<string, string> {
  return {
    quote: `x"; touch ${marker}; echo "`,
    dollar: `$(touch ${marker})`,
    backtick: `\`touch ${marker}\``,
    single: `it's'; touch ${marker}; echo '`,
    newline: `a\ntouch ${marker}\nb`,
    star: "*",
    spaces: "  two  words  ",
    heredoc: `EOF\ntouch ${marker}`,
  };
}

describe("command placeholders", () => {
  it("arrive verbatim as one word in every quoting context of a shell string, and run nothing", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const marker = path.join(dir, "pwned");
    const values = hostile(marker);
    const keys = Object.keys(values);
    const p = located(
      pipeline("cmd-inject", { params: z.object(Object.fromEntries(keys.map((k) => [k, z.string()]))) }),
      dir,
    );
    // Each context writes "[value]" per key; `printf '[%s]'` repeats once per word it gets.
    const contexts: Record<string, (k: string) => string> = {
      bare: (k) => `printf '[%s]' {params.${k}}`,
      double: (k) => `printf '[%s]' "{params.${k}}"`,
      doubleMixed: (k) => `printf '%s' "[{params.${k}}]"`,
      single: (k) => `printf '%s' '[{params.${k}}]'`,
      subst: (k) => `printf '%s' "$(printf '[%s]' {params.${k}})"`,
      backticks: (k) => `printf '%s' "\`printf '[%s]' {params.${k}}\`"`,
      heredoc: (k) => `cat <<EOF\n[{params.${k}}]\nEOF\nprintf ''`,
    };
    for (const [name, line] of Object.entries(contexts)) {
      p.command(name, {
        params: keys,
        run: keys.map((k) => `{ ${line(k)}; } > "$TRAINYARD_OUT/${k}"`).join("\n"),
        outputs: Object.fromEntries(keys.map((k) => [k, "file" as const])),
      });
    }
    const r = await ty.run(p, { params: values, concurrency: 2 });
    for (const name of Object.keys(contexts)) expect(stepOf(r, name).error?.message).toBeUndefined();
    expect(r.status).toBe("succeeded");
    for (const name of Object.keys(contexts)) {
      const out = (await ty.output(r.runId, name)) as Record<string, { path: string }>;
      for (const k of keys) {
        const got = fs.readFileSync(out[k].path, "utf8");
        // A here-document body keeps the value's text, newline included, and ends with its own.
        expect({ name, k, got }).toEqual({ name, k, got: name === "heredoc" ? `[${values[k]}]\n` : `[${values[k]}]` });
      }
    }
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("pass argv items as they are, and show readable text in error messages", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const marker = path.join(dir, "pwned");
    const p = located(pipeline("cmd-argv-inject", { params: z.object({ v: z.string() }) }), dir);
    p.command("argv", {
      params: ["v"],
      run: ["/bin/sh", "-c", 'printf %s "$1" > "$2/v"', "sh", "{params.v}", "{out}"],
      outputs: { v: "file" },
    });
    p.command("fails", { params: ["v"], run: "exit 4 # {params.v}" });
    const v = `$(touch ${marker}) "; touch ${marker}`;
    const r = await ty.run(p, { params: { v } });
    const out = (await ty.output(r.runId, "argv")) as { v: { path: string } };
    expect(fs.readFileSync(out.v.path, "utf8")).toBe(v);
    expect(stepOf(r, "fails").error?.message).toContain(`exit 4 # ${v}`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("refuse a value in a quoted here-document that could end it", () => {
    const value = (k: string) => (k === "params.v" ? "EOF\nrm -rf /" : undefined);
    expect(() => expandForShell("cat <<'EOF'\n{params.v}\nEOF\n", value, "s")).toThrow(/here-document/);
    expect(expandForShell("cat <<'EOF'\n{params.v}\nEOF\n", () => "plain $x", "s").text).toBe(
      "cat <<'EOF'\nplain $x\nEOF\n",
    );
  });
});

describe("command environment", () => {
  it("hands 200 KiB of params over by file, and always names the files", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const big = "x".repeat(200 * 1024);
    const p = located(pipeline("cmd-big-params", { params: z.object({ big: z.string(), small: z.number() }) }), dir);
    const cfg = p.step("cfg", { run: () => ({ k: 1 }) });
    // /bin/cat is a program: starting it with 200 KiB in one variable would fail with E2BIG.
    const run =
      'cat "$TRAINYARD_PARAMS_FILE" > "$TRAINYARD_OUT/params"; ' +
      'printf %s "${TRAINYARD_PARAMS-unset}" > "$TRAINYARD_OUT/env"; ' +
      'cat "$TRAINYARD_INPUTS_FILE" > "$TRAINYARD_OUT/inputs"';
    p.command("shell", {
      params: ["big"],
      inputs: { cfg },
      run,
      outputs: { params: "file", env: "file", inputs: "file" },
    });
    p.command("argv", {
      params: ["big"],
      run: ["/bin/sh", "-c", run],
      outputs: { params: "file", env: "file", inputs: "file" },
    });
    p.command("small", { params: ["small"], run, outputs: { params: "file", env: "file", inputs: "file" } });
    const r = await ty.run(p, { params: { big, small: 3 } });
    expect(r.steps.map((s) => s.error?.message ?? "")).toEqual(r.steps.map(() => ""));
    for (const name of ["shell", "argv"]) {
      const out = (await ty.output(r.runId, name)) as Record<string, { path: string }>;
      expect(JSON.parse(fs.readFileSync(out.params.path, "utf8"))).toEqual({ big });
      expect(fs.readFileSync(out.env.path, "utf8")).toBe("unset");
    }
    const shell = (await ty.output(r.runId, "shell")) as Record<string, { path: string }>;
    expect(Object.keys(JSON.parse(fs.readFileSync(shell.inputs.path, "utf8")))).toEqual(["cfg"]);
    const small = (await ty.output(r.runId, "small")) as Record<string, { path: string }>;
    expect(fs.readFileSync(small.params.path, "utf8")).toBe('{"small":3}');
    expect(fs.readFileSync(small.env.path, "utf8")).toBe('{"small":3}');
  });

  it("refuses a placeholder too large to pass, naming the step and the param", async () => {
    const { ty } = await homes.open();
    const p = located(pipeline("cmd-big-placeholder", { params: z.object({ big: z.string() }) }), homes.tempDir());
    p.command("use", { params: ["big"], run: "echo {params.big}" });
    const r = await ty.run(p, { params: { big: "y".repeat(200 * 1024) } });
    const err = stepOf(r, "use").error!;
    expect(err.code).toBe("PARAM_INVALID");
    expect(err.message).toContain('"use"');
    expect(err.message).toContain("{params.big}");
    expect(err.hint).toContain("TRAINYARD_PARAMS_FILE");
  });
});

describe("command outputs", () => {
  it("must stay inside $TRAINYARD_OUT: no .., no absolute path, no symlink leading out", async () => {
    const { ty } = await homes.open();
    const dir = homes.tempDir();
    const p = located(pipeline("cmd-escape"), dir);
    p.command("dotdot", { run: "true", outputs: { host: { path: "../../etc/hostname", kind: "file" } } });
    p.command("absolute", { run: "true", outputs: { host: { path: "/etc/hostname", kind: "file" } } });
    p.command("link", { run: 'ln -s /etc/hostname "$TRAINYARD_OUT/host"', outputs: { host: "file" } });
    p.command("linkdir", {
      run: 'ln -s /etc "$TRAINYARD_OUT/etc"',
      outputs: { host: { path: "etc/hostname", kind: "file" } },
    });
    p.command("inside", {
      run: 'echo hi > "$TRAINYARD_OUT/real"; ln -s real "$TRAINYARD_OUT/host"',
      outputs: { host: "file" },
    });
    const r = await ty.run(p);
    for (const name of ["dotdot", "absolute", "link", "linkdir"]) {
      const err = stepOf(r, name).error!;
      expect({ name, code: err.code }).toEqual({ name, code: "OUTPUT_INVALID" });
      expect(err.message).toContain(`"${name}"`);
      expect(err.message).toContain('output "host"');
    }
    expect(stepOf(r, "inside").status).toBe("succeeded");
    const inside = (await ty.output(r.runId, "inside")) as { host: { path: string } };
    expect(fs.readFileSync(inside.host.path, "utf8")).toBe("hi\n");
  });
});
