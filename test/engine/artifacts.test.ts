import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import type { Dataset, DirectoryArtifact, FileArtifact } from "../../src/index.js";
import { hashTree } from "../../src/store/file-hash.js";
import { useHomes } from "./support.js";

const homes = useHomes();
const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

function build() {
  const p = pipeline("artifacts");
  const produce = p.step("produce", {
    run: (ctx) => {
      fs.writeFileSync(path.join(ctx.workdir, "report.txt"), "report body");
      fs.mkdirSync(path.join(ctx.workdir, "model", "sub"), { recursive: true });
      fs.writeFileSync(path.join(ctx.workdir, "model", "weights.bin"), "w");
      fs.writeFileSync(path.join(ctx.workdir, "model", "sub", "config.json"), "{}");
      fs.writeFileSync(path.join(ctx.workdir, "rows.csv"), "x\n1\n2\n3\n");
      ctx.log("produced three artifacts");
      return {
        report: ctx.file("report.txt", { title: "r" }),
        model: ctx.directory("model"),
        rows: ctx.dataset("rows.csv", { format: "csv", rows: 3 }),
        note: "plain value",
      };
    },
  });
  p.step("consume", {
    inputs: { report: produce.pick("report"), rows: produce.pick("rows") },
    run: (_ctx, { report, rows }) =>
      `${fs.readFileSync(report.path, "utf8")}|${fs.readFileSync(rows.path, "utf8").split("\n").length}`,
  });
  p.step("same-bytes", {
    run: (ctx) => {
      fs.writeFileSync(path.join(ctx.workdir, "copy.txt"), "report body");
      return ctx.file("copy.txt");
    },
  });
  return p;
}

describe("artifacts", () => {
  it("stores files, directories and datasets by content digest, read-only, and hands paths downstream", async () => {
    const { ty, home } = await homes.open();
    const r = await ty.run(build(), { concurrency: 1 });
    expect(r.status).toBe("succeeded");
    const out = (await ty.output(r.runId, "produce")) as {
      report: FileArtifact;
      model: DirectoryArtifact;
      rows: Dataset;
      note: string;
    };
    expect(out.note).toBe("plain value");

    expect(out.report).toMatchObject({ $artifact: "file", digest: sha("report body"), size: 11, meta: { title: "r" } });
    expect(fs.readFileSync(out.report.path, "utf8")).toBe("report body");
    expect(out.report.path.startsWith(path.join(home, "artifacts"))).toBe(true);
    expect(fs.statSync(out.report.path).mode & 0o222).toBe(0);

    expect(out.rows).toMatchObject({
      $artifact: "dataset",
      digest: sha("x\n1\n2\n3\n"),
      meta: { format: "csv", rows: 3 },
    });
    expect(out.model.$artifact).toBe("directory");
    expect(fs.readFileSync(path.join(out.model.path, "sub", "config.json"), "utf8")).toBe("{}");

    expect(await ty.metadata.getArtifact(out.report.digest)).toMatchObject({ kind: "file", size: 11, inline: false });
    expect(await ty.metadata.getArtifact(out.rows.digest)).toMatchObject({ kind: "dataset", meta: { rows: 3 } });
    expect(await ty.metadata.getArtifact(out.model.digest)).toMatchObject({ kind: "directory", inline: false });
    expect(await ty.output(r.runId, "consume")).toBe("report body|5");

    // Equal bytes from another step are one object.
    const copy = (await ty.output(r.runId, "same-bytes")) as FileArtifact;
    expect(copy.digest).toBe(out.report.digest);

    // Every stored object is named by the sha256 of its content.
    for (const digest of await ty.artifacts.list()) {
      const p = await ty.artifacts.pathOf(digest);
      const actual = fs.statSync(p).isDirectory() ? (await hashTree(p)).digest : sha(fs.readFileSync(p, "utf8"));
      expect(actual).toBe(digest);
    }
    // Work directories are removed once their files are stored.
    const tmp = path.join(home, "artifacts", "tmp");
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
  });

  it("records lineage edges out of the producer and into a consumer of its whole output", async () => {
    const { ty } = await homes.open();
    const p = build();
    p.step("consumeWhole", { inputs: { all: p.ref<{ note: string }>("produce") }, run: (_ctx, { all }) => all.note });
    const r = await ty.run(p);
    expect(r.status).toBe("succeeded");
    const out = (await ty.output(r.runId, "produce")) as {
      report: FileArtifact;
      rows: Dataset;
      model: DirectoryArtifact;
    };
    const produceSr = (await ty.metadata.getStepRun(`${r.runId}:produce`))!;
    const produced = await ty.metadata.lineageOfStepRun(produceSr.id);
    expect(
      produced
        .filter((e) => e.direction === "out")
        .map((e) => [e.name, e.digest])
        .sort(),
    ).toEqual(
      [
        ["output", produceSr.outputDigest!],
        ["report", out.report.digest],
        ["rows", out.rows.digest],
        ["model", out.model.digest],
      ].sort(),
    );
    expect(await ty.metadata.lineageOf(out.report.digest)).toContainEqual(
      expect.objectContaining({ stepRunId: produceSr.id, direction: "out", name: "report", reused: false }),
    );
    const whole = await ty.metadata.lineageOfStepRun(`${r.runId}:consumeWhole`);
    expect(whole.find((e) => e.direction === "in")).toMatchObject({ name: "all", digest: produceSr.outputDigest });

    // A cached run records that it reused the outputs.
    const r2 = await ty.run(build());
    const reusedEdges = await ty.metadata.lineageOfStepRun(`${r2.runId}:produce`);
    expect(reusedEdges.filter((e) => e.direction === "out").every((e) => e.reused)).toBe(true);
    expect(reusedEdges.map((e) => e.digest)).toContain(out.report.digest);
  });

  it("records the artifact's own digest on the in-edge of an input wired with ref.pick(field)", async () => {
    const { ty } = await homes.open();
    const r = await ty.run(build());
    const out = (await ty.output(r.runId, "produce")) as { report: FileArtifact; rows: Dataset };
    const consumeEdges = await ty.metadata.lineageOfStepRun(`${r.runId}:consume`);
    expect(
      consumeEdges
        .filter((e) => e.direction === "in")
        .map((e) => [e.name, e.digest])
        .sort(),
    ).toEqual(
      [
        ["report", out.report.digest],
        ["rows", out.rows.digest],
      ].sort(),
    );
    expect(await ty.metadata.lineageOf(out.report.digest)).toContainEqual(
      expect.objectContaining({ stepRunId: `${r.runId}:consume`, direction: "in", name: "report" }),
    );
  });

  it("fails with OUTPUT_INVALID when a declared file was never written", async () => {
    const { ty } = await homes.open();
    const p = pipeline("no-file");
    p.step("forgot", { run: (ctx) => ({ model: ctx.model("model.onnx") }) });
    const r = await ty.run(p);
    expect(r.status).toBe("failed");
    const err = r.steps[0].error!;
    expect(err.code).toBe("OUTPUT_INVALID");
    expect(err.message).toContain("model.onnx");
    expect(err.message).toContain('"forgot"');
  });
});

describe("logs", () => {
  it("stores ctx.log lines per attempt, in order", async () => {
    const { ty } = await homes.open();
    const p = pipeline("logs");
    p.step("chatty", {
      retry: { attempts: 2, initialDelayMs: 1 },
      run: (ctx) => {
        ctx.log("attempt", ctx.attempt, "starting");
        ctx.log({ loss: 0.25 });
        ctx.log("two\nlines");
        if (ctx.attempt === 1) throw new Error("first attempt fails");
        return 1;
      },
    });
    const r = await ty.run(p);
    expect(r.status).toBe("succeeded");
    const id = `${r.runId}:chatty`;
    // A failed attempt's log ends with its error and the user's frames it passed through.
    const first = (await ty.metadata.getLogs(id, 1)).map((l) => l.line);
    expect(first.slice(0, 5)).toEqual([
      "attempt 1 starting",
      "{ loss: 0.25 }",
      "two",
      "lines",
      "error: Error: first attempt fails",
    ]);
    expect(first.slice(5).every((l) => l.startsWith("  at "))).toBe(true);
    expect((await ty.metadata.getLogs(id, 2)).map((l) => l.line)).toEqual([
      "attempt 2 starting",
      "{ loss: 0.25 }",
      "two",
      "lines",
    ]);
    expect((await ty.metadata.getLogs(id)).every((l) => l.stream === "log")).toBe(true);
  });

  it("keeps the logs of a failed attempt", async () => {
    const { ty } = await homes.open();
    const p = pipeline("logs-fail");
    p.step("doomed", {
      run: (ctx) => {
        ctx.log("about to fail");
        throw new Error("nope");
      },
    });
    const r = await ty.run(p);
    const lines = (await ty.metadata.getLogs(`${r.runId}:doomed`)).map((l) => l.line);
    expect(lines.slice(0, 2)).toEqual(["about to fail", "error: Error: nope"]);
  });
});
