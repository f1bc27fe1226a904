// The web UI's first-screen bundle: the entry chunk, every chunk it imports statically, and their
// CSS, as the browser fetches them before the Overview renders. Sizes raw and gzipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export function firstScreenBundle(dir = "dist/ui") {
  const manifest = JSON.parse(readFileSync(join(dir, ".vite", "manifest.json"), "utf8"));
  const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
  if (!entry) throw new Error(`no entry chunk in ${dir}/.vite/manifest.json`);
  const files = new Set(["index.html"]);
  const visit = (key) => {
    const chunk = manifest[key];
    if (files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const css of chunk.css ?? []) files.add(css);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  visit(entry);
  let raw = 0;
  let gzip = 0;
  const parts = [...files].map((file) => {
    const bytes = readFileSync(join(dir, file));
    const gz = gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gzip += gz;
    return { file, raw: bytes.length, gzip: gz };
  });
  const lazy = Object.values(manifest)
    .filter((c) => !files.has(c.file))
    .map((c) => c.file);
  return { files: parts, raw, gzip, lazy };
}

if (process.argv[1]?.endsWith("ui-bundle-size.mjs")) {
  const b = firstScreenBundle(process.argv[2]);
  const kb = (n) => (n / 1024).toFixed(0);
  console.log(`first screen: ${kb(b.raw)} KB raw, ${kb(b.gzip)} KB gzipped in ${b.files.length} files`);
}
