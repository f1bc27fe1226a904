#!/usr/bin/env node
// The `trainyard` command. Runs the built CLI (dist/), which the published package ships; in a
// checkout of the repository the first command builds it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

// The orchestrator's own code runs for microseconds per step, and V8 by default hands a function
// to its optimizing compiler after little use: in a run of 1,000 short command steps that compile
// work took a fifth of the run's CPU and never paid off. A larger interrupt budget makes V8 wait
// eight times longer before tiering a function up; code that really is hot (a training loop in
// an inline step) is still optimized within milliseconds. The young generation also grows eight
// times faster than by default (to the same maximum): a run's records live until they are
// committed, and with the default growth the same run took 17 scavenges instead of 10 (2% of its
// time). The model server, which runs for hours, keeps V8's defaults. TRAINYARD_V8_FLAGS
// replaces these flags (empty: V8's defaults).
//
// Changing a V8 flag makes V8 reject Node's code cache for its own modules (the cache is keyed by
// the flags), so every built-in module loaded afterwards is compiled from source: that tripled
// their load time. The built-ins every command uses are therefore loaded first.
// V8 12 (Node 22) and later count invocations instead and reject --interrupt-budget (printing an
// error on every command): there only the young generation's growth is set.
const interruptBudget = Number(process.versions.v8.split(".")[0]) < 12 ? "--interrupt-budget=1048576 " : "";
const defaultFlags = `${interruptBudget}--semi-space-growth-factor=8`;
const v8Flags = process.env.TRAINYARD_V8_FLAGS ?? (process.argv[2] === "serve" ? "" : defaultFlags);
if (v8Flags.trim()) {
  await Promise.all(
    [
      "node:child_process",
      "node:crypto",
      "node:fs/promises",
      "node:os",
      "node:stream",
      "node:stream/promises",
      "node:string_decoder",
      "node:util",
    ].map((name) => import(name)),
  );
  setFlagsFromString(v8Flags);
}

const entry = new URL("../dist/cli/entry.js", import.meta.url);
const buildScript = fileURLToPath(new URL("../scripts/build.mjs", import.meta.url));
if (!existsSync(fileURLToPath(entry)) && existsSync(buildScript)) {
  process.stderr.write("trainyard: building dist/ (once per checkout; `npm run build` rebuilds it)\n");
  const root = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, [buildScript], { cwd: root, stdio: "inherit" });
}
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("trainyard: dist/ is missing; run `npm run build`\n");
  process.exit(1);
}
await import(entry.href);
