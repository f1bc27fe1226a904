// The web UI's build: React through Vite into dist/ui/, served by `trainyard ui`. Heavy screens
// (the run's DAG with React Flow, ELK in a worker) are split out of the first screen's bundle.
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

// The modules whose chunks a run page needs before it can draw: index.html fetches them with the
// entry bundle on a run page's address, rather than after the bundle has run and asked for them.
const RUN_PAGE_MODULES = ["/src/screens/run/run-page.tsx", "/src/dag/dag-view.tsx"];
const RUN_PAGE_ASSETS = "/*run-page-assets*/ []";

function runPageAssets() {
  return {
    name: "trainyard-run-page-assets",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        if (!html.includes(RUN_PAGE_ASSETS)) throw new Error(`index.html lacks the ${RUN_PAGE_ASSETS} placeholder`);
        const chunks = Object.values(ctx.bundle ?? {}).filter((c) => c.type === "chunk");
        const byFile = new Map(chunks.map((c) => [c.fileName, c]));
        const files = new Set();
        const visit = (chunk) => {
          if (chunk.isEntry || files.has(chunk.fileName)) return;
          files.add(chunk.fileName);
          for (const css of chunk.viteMetadata?.importedCss ?? []) files.add(css);
          for (const imported of chunk.imports) if (byFile.has(imported)) visit(byFile.get(imported));
        };
        for (const name of RUN_PAGE_MODULES) {
          const chunk = chunks.find((c) => c.facadeModuleId?.endsWith(name));
          if (!chunk) throw new Error(`no chunk holds ${name}: the run page's preload list would be empty`);
          visit(chunk);
        }
        return html.replace(RUN_PAGE_ASSETS, JSON.stringify([...files].map((f) => `/${f}`)));
      },
    },
  };
}

export default defineConfig({
  root,
  base: "/",
  plugins: [react(), runPageAssets()],
  build: {
    outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
    // Read by the bundle-size test and benchmark to tell the first screen from the lazy chunks.
    manifest: true,
  },
  // `vite ui` during development: the API runs under `trainyard ui --port 4180`.
  server: { proxy: { "/api": "http://127.0.0.1:4180" } },
  logLevel: "warn",
});
