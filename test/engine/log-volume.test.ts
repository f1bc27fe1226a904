import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { LINE_SPLIT_MARK } from "../../src/engine/log-lines.js";
import { readStepLogLines } from "../../src/engine/step-log-reader.js";
import { removeRunLogs, runLogDir, stepLogFile } from "../../src/engine/step-log-files.js";
import { stepOf, useHomes } from "./support.js";

const homes = useHomes();
const MiB = 1024 * 1024;
const LINE = 16 * 1024;

/** A pipeline "defined" in a temp directory, so that commands run there. */
function located(name: string) {
  const p = pipeline(name);
  p.modulePath = path.join(homes.tempDir(), "pipeline.ts");
  return p;
}

const bytesOf = (lines: string[]) => lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
const notes = (lines: Array<{ line: string }>) =>
  lines.filter((l) => l.line.startsWith("[trainyard]")).map((l) => l.line);
const numbers = (text: string) =>
  text.match(/[\d,]+(?= bytes\))|[\d,]+(?= lines)/g)!.map((n) => Number(n.replace(/,/g, "")));

describe("step logs of loud commands", () => {
  it(
    "20 MB without a newline: split lines, " +
      "head and last part under the step cap with a note, a bounded tail in the database",
    async () => {
      const { ty, home } = await homes.open();
      const p = located("no-newline");
      p.command("loud", { run: "head -c 20000000 /dev/zero | tr '\\0' x" });
      const r = await ty.run(p, { logs: { stepBytes: 4 * MiB } });
      expect(stepOf(r, "loud").status).toBe("succeeded");

      const last = "x".repeat(20_000_000 % LINE);
      const piece = "x".repeat(LINE) + LINE_SPLIT_MARK;
      const produced = {
        lines: Math.ceil(20_000_000 / LINE),
        bytes: Math.floor(20_000_000 / LINE) * (Buffer.byteLength(piece) + 1) + last.length + 1,
      };

      const file = stepLogFile(home, r.runId, `${r.runId}:loud`, 1);
      expect(fs.statSync(file).size).toBeLessThan(MiB);
      const lines = await readStepLogLines(ty, r.runId, `${r.runId}:loud`);
      const output = lines.filter((l) => l.stream === "stdout").map((l) => l.line);
      expect(output[0]).toBe(piece);
      expect(output.at(-1)).toBe(last);
      expect(output.slice(0, -1).every((l) => l === piece)).toBe(true);
      expect(bytesOf(output)).toBeLessThanOrEqual(4 * MiB);
      // Where the head ends, a note written then; after it, one accounting for every byte and line not kept.
      const [headEnd, cut] = notes(lines);
      expect(headEnd).toMatch(
        /^\[trainyard\] the first 2\.0 MiB .* of output end here: past them, only the last 2\.0 MiB/,
      );
      expect(cut).toMatch(/output cut here: .* were not kept \(the step's log cap is 4\.0 MiB/);
      const [cutBytes, cutLines] = numbers(cut);
      expect(cutBytes + bytesOf(output)).toBe(produced.bytes);
      expect(cutLines + output.length).toBe(produced.lines);
      const at = lines.findIndex((l) => l.line === cut);
      expect(bytesOf(lines.slice(0, at).map((l) => l.line))).toBeLessThanOrEqual(2 * MiB);

      const stored = await ty.metadata.getLogs(`${r.runId}:loud`);
      expect(stored.length).toBeLessThanOrEqual(401);
      expect(stored.at(-1)!.line).toBe(last);
      expect(notes(stored)[0]).toContain(file);
      for (const l of stored)
        expect(Buffer.byteLength(l.line)).toBeLessThanOrEqual(LINE + LINE_SPLIT_MARK.length + 200);
    },
  );

  it(
    "20 MB of lines: the file keeps the first and the last lines in order, " + "the database 200 of each and a note",
    async () => {
      const { ty, home } = await homes.open();
      const p = located("lines");
      p.command("loud", { run: "seq 1 2700000; echo finished >&2" });
      const r = await ty.run(p, { logs: { stepBytes: 4 * MiB } });
      expect(stepOf(r, "loud").status).toBe("succeeded");

      const lines = await readStepLogLines(ty, r.runId, `${r.runId}:loud`);
      const at = lines.findIndex((l) => l.line.startsWith("[trainyard] output cut here"));
      expect(at).toBeGreaterThan(1000);
      expect(lines[at - 1].line).toMatch(/^\[trainyard\] the first .* of output end here/);
      const head = lines.slice(0, at - 1).map((l) => l.line);
      expect(head).toEqual(head.map((_, i) => String(i + 1)));
      const tail = lines
        .slice(at + 1)
        .filter((l) => l.stream === "stdout")
        .map((l) => Number(l.line));
      expect(tail.at(-1)).toBe(2_700_000);
      expect(tail).toEqual(tail.map((_, i) => 2_700_001 - tail.length + i));
      expect(lines.at(-1)).toMatchObject({ stream: "stderr", line: "finished" });
      expect(bytesOf(lines.filter((l) => l.stream !== "log").map((l) => l.line))).toBeLessThanOrEqual(4 * MiB);
      const [cutBytes, cutLines] = numbers(lines[at].line);
      expect(cutLines).toBe(2_700_000 - head.length - tail.length);
      expect(cutBytes).toBe(bytesOf(Array.from({ length: cutLines }, (_, i) => String(head.length + 1 + i))));

      const stored = await ty.metadata.getLogs(`${r.runId}:loud`);
      expect(stored).toHaveLength(401);
      expect(stored.slice(0, 200).map((l) => l.line)).toEqual(head.slice(0, 200));
      expect(stored[200].line).toMatch(/^\[trainyard\] 2,699,601 lines are not kept in the database/);
      expect(stored.slice(201).map((l) => l.line)).toEqual([
        ...Array.from({ length: 199 }, (_, i) => String(2_699_802 + i)),
        "finished",
      ]);

      // Without the file (gc, or a copied database), the database's head and tail stand in.
      expect(await removeRunLogs(home, [r.runId])).toBe(1);
      expect(fs.existsSync(runLogDir(home, r.runId))).toBe(false);
      expect((await readStepLogLines(ty, r.runId, `${r.runId}:loud`)).map((l) => l.line)).toEqual(
        stored.map((l) => l.line),
      );
    },
  );

  it("keep a progress bar's last state and split long lines, from commands and from ctx.log", async () => {
    const { ty } = await homes.open();
    const p = located("bars");
    p.command("bar", {
      run:
        "printf 'epoch 1  10%%\\repoch 1 100%%\\n'; " +
        "head -c 40000 /dev/zero | tr '\\0' y; echo; printf '\\r1/3\\r2/3\\r3/3'",
    });
    p.step("chatty", { run: (ctx) => ctx.log("z".repeat(40000)) });
    const r = await ty.run(p);
    expect(r.status).toBe("succeeded");
    const y = (n: number) => "y".repeat(n);
    expect((await ty.metadata.getLogs(`${r.runId}:bar`)).map((l) => l.line)).toEqual([
      "epoch 1 100%",
      y(LINE) + LINE_SPLIT_MARK,
      y(LINE) + LINE_SPLIT_MARK,
      y(40000 - 2 * LINE),
      "3/3",
    ]);
    const z = (await ty.metadata.getLogs(`${r.runId}:chatty`)).map((l) => l.line);
    expect(z).toHaveLength(3);
    expect(z.map((l) => l.replace(LINE_SPLIT_MARK, "")).join("")).toBe("z".repeat(40000));
  });

  it("stop every file of a run at the run's cap, with a note in the step that hit it", async () => {
    const { ty, home } = await homes.open();
    const p = located("run-cap");
    const a = p.command("a", { run: "head -c 3000000 /dev/zero | tr '\\0' a | fold -w 100" });
    p.command("b", { inputs: { a }, run: "head -c 3000000 /dev/zero | tr '\\0' b | fold -w 100" });
    const r = await ty.run(p, { concurrency: 1, logs: { runBytes: 4 * MiB } });
    expect(r.status).toBe("succeeded");
    const linesOf = (step: string) => readStepLogLines(ty, r.runId, `${r.runId}:${step}`);
    const [la, lb] = [await linesOf("a"), await linesOf("b")];
    expect(notes(la)).toEqual([]);
    expect(la.filter((l) => l.stream === "stdout")).toHaveLength(30000);
    expect(notes(lb)).toEqual([
      expect.stringMatching(/the run's logs reached their cap of 4\.0 MiB .*; the last .* of this step were not kept/),
    ]);
    const kept = bytesOf([...la, ...lb].filter((l) => l.stream === "stdout").map((l) => l.line));
    expect(kept).toBeLessThanOrEqual(4 * MiB);
    const dropped = numbers(notes(lb)[0])[1];
    expect(kept + dropped).toBe(2 * 30000 * 101);
    expect(fs.readdirSync(runLogDir(home, r.runId)).sort()).toEqual(["a.1.log.gz", "b.1.log.gz"]);
  });
});

describe("gc and step logs", () => {
  it("removes the log files of the runs it removes, and keeps those of the runs it keeps", async () => {
    const { ty, home } = await homes.open();
    const p = located("gc-logs");
    p.command("loud", { cache: false, run: "seq 1 1000" });
    const old = await ty.run(p);
    const kept = await ty.run(p);
    for (const r of [old, kept]) expect(fs.existsSync(stepLogFile(home, r.runId, `${r.runId}:loud`, 1))).toBe(true);
    const gc = await ty.gc({ keepLast: 1 });
    expect(gc.runsRemoved).toEqual([old.runId]);
    expect(fs.existsSync(runLogDir(home, old.runId))).toBe(false);
    expect(fs.existsSync(stepLogFile(home, kept.runId, `${kept.runId}:loud`, 1))).toBe(true);
  });
});
