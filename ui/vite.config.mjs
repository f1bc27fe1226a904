// The web UI's build: React through Vite into dist/ui/, served by `trainyard ui`. Heavy screens
// (the run's DAG with React Flow, ELK in a worker) are split out of the first screen's bundle.
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  plugins: [react()],
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
