// Builds the web UI (ui/) with Vite into dist/ui/, which `trainyard ui` serves as static files.
// Skipped when the UI's sources and build config are unchanged since the last build (a digest of
// them is kept in dist/ui/.source-digest), so test runs that build dist/ do not pay for it twice.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const UI = "ui";
const OUT = "dist/ui";
const STAMP = join(OUT, ".source-digest");

function sourceDigest() {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else hash.update(p).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  walk(UI);
  for (const pkg of ["react", "react-dom", "@xyflow/react", "elkjs", "vite"]) {
    hash.update(readFileSync(`node_modules/${pkg}/package.json`));
  }
  return hash.digest("hex");
}

export async function buildUi({ force = false } = {}) {
  const digest = sourceDigest();
  const built = existsSync(STAMP) && existsSync(join(OUT, "index.html")) ? readFileSync(STAMP, "utf8") : "";
  if (!force && built === digest) return { skipped: true };
  const { build } = await import("vite");
  // Vite bundles React's development build when NODE_ENV says so (vitest sets "test"): always ship production.
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({ configFile: join(UI, "vite.config.mjs"), logLevel: "warn" });
  } finally {
    if (previous === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = previous;
  }
  writeFileSync(STAMP, digest);
  return { skipped: false };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await buildUi({ force: process.argv.includes("--force") });
}
