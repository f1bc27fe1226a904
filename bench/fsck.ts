/**
 * `trainyard fsck` throughput: a store of about 1.2 GB (four 200 MiB files, which take the block
 * digest, and 200 files of 2 MiB), checked by the CLI (process start included), side by side in
 * one run with coreutils `sha256sum` (one core) and `cat` of the same files (reading alone). The
 * files are read once first, so every side reads from the page cache.
 *   npx tsx bench/fsck.ts [--reps 3]
 */
import { randomFillSync } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Trainyard } from "../src/engine/trainyard.js";
import { formatTable, median, runTimed } from "./support/timing.js";

const reps = Number(process.argv[process.argv.indexOf("--reps") + 1] || 3);
const BIN = path.resolve(import.meta.dirname, "..", "bin", "trainyard.js");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-bench-fsck-"));
const home = path.join(root, "home");
const src = path.join(root, "src");
fs.mkdirSync(src);

const sizes = [...Array(4).fill(200 * 1024 * 1024), ...Array(200).fill(2 * 1024 * 1024)];
const chunk = Buffer.alloc(8 * 1024 * 1024);
sizes.forEach((size, i) => {
  const fd = fs.openSync(path.join(src, `f${i}`), "w");
  for (let left = size; left > 0; left -= chunk.length)
    fs.writeSync(fd, randomFillSync(chunk), 0, Math.min(left, chunk.length));
  fs.closeSync(fd);
});
const ty = await Trainyard.open({ home });
const records = [];
for (const [i] of sizes.entries()) {
  const stored = await ty.artifacts.putFile(path.join(src, `f${i}`));
  records.push({
    record: {
      digest: stored.digest,
      kind: "file" as const,
      size: stored.size,
      meta: {},
      createdAt: Date.now(),
      inline: false,
    },
  });
}
await ty.metadata.putArtifacts(records);
await ty.close();
fs.rmSync(src, { recursive: true });
const objects = (await import("node:child_process"))
  .execFileSync("find", [path.join(home, "artifacts", "objects"), "-type", "f"], { encoding: "utf8" })
  .trim()
  .split("\n");
const bytes = sizes.reduce((a, b) => a + b, 0);
const gbps = (secs: number) => (bytes / secs / 1e9).toFixed(2);

runTimed("cat", objects, { stdio: ["ignore", "ignore", "pipe"] });
const times: Record<string, number[]> = { fsck: [], sha256sum: [], cat: [] };
for (let r = 0; r < reps; r++) {
  const out = runTimed(process.execPath, [BIN, "fsck", "--json"], { env: { ...process.env, TRAINYARD_HOME: home } });
  times.fsck.push(out.secs);
  const report = JSON.parse(out.stdout) as { ok: boolean; objects: number };
  if (!report.ok || report.objects !== sizes.length)
    throw new Error(`fsck did not check the store cleanly: ${out.stdout.slice(0, 500)}`);
  times.sha256sum.push(runTimed("sha256sum", objects).secs);
  times.cat.push(runTimed("cat", objects, { stdio: ["ignore", "ignore", "pipe"] }).secs);
}
console.log(
  `fsck of ${sizes.length} objects, ${(bytes / 1e9).toFixed(2)} GB, page cache warm, ` +
    `median of ${reps}, ${os.availableParallelism()} cores`,
);
console.log(
  formatTable([
    ["", "seconds", "GB/s", "vs sha256sum"],
    ...Object.entries(times).map(([name, t]) => [
      name === "fsck" ? "trainyard fsck (CLI)" : name === "cat" ? "cat (read only)" : "sha256sum (1 core)",
      median(t).toFixed(2),
      gbps(median(t)),
      `${(median(times.sha256sum) / median(t)).toFixed(2)}x`,
    ]),
  ]),
);
fs.rmSync(root, { recursive: true, force: true });
