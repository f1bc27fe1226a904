#!/usr/bin/env node
// The `trainyard` command. Runs the built CLI (dist/), which the published package ships; in a
// checkout of the repository the first command builds it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";

import { v8FlagsFor } from "./v8-flags.js";

// bin/v8-flags.js says which V8 flags a command runs with, and why.
//
// Changing a V8 flag makes V8 reject Node's code cache for its own modules (the cache is keyed by
// the flags), so every built-in module loaded afterwards is compiled from source: that tripled
// their load time. The built-ins every command uses are therefore loaded first.
const v8Flags = v8FlagsFor(process.argv[2]);
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
