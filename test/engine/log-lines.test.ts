import { describe, expect, it } from "vitest";
import type { LogLine } from "../../src/store/metadata-store.js";
import { DEFAULT_LINE_BYTES, LINE_SPLIT_MARK, LineSplitter, type LogSink } from "../../src/engine/log-lines.js";

/** Feeds `chunks` through a splitter and returns the lines it produced (blocks split back into lines). */
function split(
  chunks: Array<string | Buffer>,
  opts: { blocks?: boolean; max?: number } = {},
): { lines: string[]; blocks: number } {
  const lines: string[] = [];
  let blocks = 0;
  const sink: LogSink = (l: LogLine) => void lines.push(l.line);
  if (opts.blocks) {
    sink.block = (_stream, bytes, count) => {
      blocks++;
      const got = bytes.toString("utf8").split("\n");
      expect(got.pop()).toBe("");
      expect(got).toHaveLength(count);
      lines.push(...got);
    };
  }
  const s = new LineSplitter("stdout", sink, opts.max);
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  s.end();
  return { lines, blocks };
}

describe("LineSplitter", () => {
  it("splits on newlines across chunk boundaries and keeps a last line without its newline", () => {
    expect(split(["a", "b\nc", "d\n\ne"]).lines).toEqual(["ab", "cd", "", "e"]);
    expect(split(["x\n"]).lines).toEqual(["x"]);
    expect(split([]).lines).toEqual([]);
  });

  it("keeps only the last state of a carriage-return progress bar", () => {
    expect(split(["epoch 1  10%\repoch 1  50%\r", "epoch 1 100%\n", "done\n"]).lines).toEqual(["epoch 1 100%", "done"]);
    // \r\n is a Windows newline, and a bar that ends the output without a newline keeps its last state.
    expect(split(["a\r\nb\r\n", "\r1/3\r2/3\r3/3"]).lines).toEqual(["a", "b", "3/3"]);
    expect(split(["50%\r", "\n"]).lines).toEqual(["50%"]);
  });

  it("cuts a line longer than the cap into marked pieces, never inside a UTF-8 character", () => {
    const { lines } = split(["x".repeat(25), "y".repeat(10), "\nshort\n"], { max: 16 });
    expect(lines).toEqual([
      `${"x".repeat(16)}${LINE_SPLIT_MARK}`,
      `${"x".repeat(9)}${"y".repeat(7)}${LINE_SPLIT_MARK}`,
      "yyy",
      "short",
    ]);
    const euro = "€".repeat(10); // 3 bytes each
    const pieces = split([euro.slice(0, 4), euro.slice(4)], { max: 16 }).lines;
    expect(pieces.map((p) => p.replace(LINE_SPLIT_MARK, "")).join("")).toBe(euro);
    for (const p of pieces) expect(p).not.toContain("\ufffd");
  });

  it("holds at most one line's cap of a stream without newlines, whatever its size", () => {
    const chunk = Buffer.alloc(64 * 1024, "z");
    let count = 0;
    let longest = 0;
    const s = new LineSplitter("stdout", (l) => {
      count++;
      longest = Math.max(longest, l.line.length);
    });
    for (let i = 0; i < 320; i++) s.push(chunk); // 20 MiB
    s.end();
    expect(count).toBe((320 * chunk.length) / DEFAULT_LINE_BYTES);
    expect(longest).toBe(DEFAULT_LINE_BYTES + LINE_SPLIT_MARK.length);
  });

  it("hands plain complete lines on as blocks, and the same lines as one by one", () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 4093) chunks.push(text.slice(i, i + 4093));
    const bulk = split(chunks, { blocks: true });
    expect(bulk.blocks).toBeGreaterThan(0);
    expect(bulk.lines).toEqual(split(chunks).lines);
    expect(bulk.lines).toHaveLength(5000);
    // A carriage return or an over-long line in a chunk sends it line by line.
    const odd = split(["a\nb\rc\nd\n", `e\n${"f".repeat(40)}\ng\n`], { blocks: true, max: 16 });
    expect(odd.lines).toEqual([
      "a",
      "c",
      "d",
      "e",
      `${"f".repeat(16)}${LINE_SPLIT_MARK}`,
      `${"f".repeat(16)}${LINE_SPLIT_MARK}`,
      "ffffffff",
      "g",
    ]);
  });

  it("remembers the last lines for error messages, from blocks too", () => {
    const s = new LineSplitter(
      "stderr",
      Object.assign(() => undefined, { block: () => undefined }),
    );
    s.push(Buffer.from(Array.from({ length: 30 }, (_, i) => `e${i}`).join("\n") + "\n"));
    s.push(Buffer.from("last words"));
    s.end();
    expect(s.recent()).toEqual([...Array.from({ length: 9 }, (_, i) => `e${21 + i}`), "last words"]);
  });
});
