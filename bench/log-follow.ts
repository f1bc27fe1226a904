/**
 * Following a long log: a command step prints `--lines` lines (1,000,000 by default, about 7 MB);
 * then, side by side in one run, what a follower (`trainyard logs -f`, the API's log stream) pays
 * to catch up from the start and to look for new lines at the end:
 *
 * - page after page of 5,000 lines, each page read from the log's start (how both followed a log
 *   before stepLogFrom: the catch-up grows with the square of the log);
 * - one read from line 0 with stepLogFrom (how they follow now);
 * - one look at the end (a poll with nothing new), and the pause a follower then takes (followPause).
 *
 *   npx tsx bench/log-follow.ts [--lines 1000000] [--reps 3]
 */
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { followPause } from "../src/engine/run-views.js";
import { Trainyard } from "../src/engine/trainyard.js";
import { flag, formatTable, median } from "./support/timing.js";

const LINES = Number(flag("lines", "1000000"));
const REPS = Number(flag("reps", "3"));
const ROOT = resolve("bench/.work/log-follow");
const PAGE = 5000;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function main(): Promise<void> {
  rmSync(ROOT, { recursive: true, force: true });
  const module = join(ROOT, "loud.ts");
  const ty = await Trainyard.open({ home: join(ROOT, "home") });
  try {
    writeFileSync(
      module,
      `import { pipeline } from "trainyard";\nconst p = pipeline("log-follow");\n` +
        `p.command("loud", { run: "seq 1 ${LINES}" });\nexport default p;\n`,
    );
    const run = await ty.run(module);
    if (run.status !== "succeeded") throw new Error(`the run ${run.status}`);
    const q = ty.query;
    const paged = await timed(async () => {
      let offset = 0;
      for (;;) {
        const page = await q.stepLogPage(run.runId, "loud", { offset, limit: PAGE });
        offset = page.nextOffset;
        if (page.lines.length < PAGE) return offset;
      }
    });
    const readAll = async (from: number) => {
      let n = 0;
      for await (const chunk of q.stepLogFrom(run.runId, "loud", { offset: from })) n += chunk.lines.length;
      return n;
    };
    const once: number[] = [];
    const look: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const all = await timed(() => readAll(0));
      if (all.value !== paged.value) throw new Error(`read ${all.value} lines, paged ${paged.value}`);
      once.push(all.ms);
      const end = await timed(() => readAll(all.value));
      if (end.value !== 0) throw new Error(`${end.value} lines past the end`);
      look.push(end.ms);
    }
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    console.log(`a step's log of ${paged.value.toLocaleString("en-US")} lines (medians of ${REPS}, paging once):`);
    console.log(
      formatTable([
        ["read", "time"],
        [`page after page of ${PAGE.toLocaleString("en-US")} lines, each from the start`, ms(paged.ms)],
        ["one read from line 0 (stepLogFrom)", ms(median(once))],
        ["ratio", `${(paged.ms / median(once)).toFixed(1)}x`],
        ["a look at the end, nothing new", ms(median(look))],
        ["the follower's pause after it (500 ms at least)", ms(followPause(500, median(look)))],
      ]),
    );
  } finally {
    await ty.close();
    rmSync(ROOT, { recursive: true, force: true });
  }
}

await main();
