/**
 * Artifacts and lineage, reports, data reports, the serving series, daemon health and the server's
 * own description. Files are found by digest through the metadata and artifact stores, never by
 * a path built from the request, and are served only from inside the home or its artifact store.
 */
import { createReadStream } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { sep } from "node:path";
import { Readable } from "node:stream";
import type { Context, Hono } from "hono";
import { daemonHealth } from "../daemon/daemon-health.js";
import { loadPipelineTriggers } from "../daemon/pipeline-triggers.js";
import { previewMonitor } from "../daemon/trigger-preview.js";
import { servingSeries } from "../engine/serving-series.js";
import { FsArtifactStore } from "../store/fs-artifact-store.js";
import { defineRoute, type ApiServices } from "./api-context.js";
import { apiError } from "./api-errors.js";
import type { ServingSeries } from "./schemas.js";
import { shortDigest } from "../core/hash.js";

/** Digests and their prefixes: no dots, slashes or percent signs, so never a path. */
const DIGEST = /^[A-Za-z0-9:_-]{6,200}$/;

function digestParam(c: Context): string {
  const d = c.req.param("digest") ?? "";
  if (DIGEST.test(d)) return d;
  const hint = "a digest (or a unique prefix of 6+ characters) as `trainyard show <run> --json` prints it";
  throw apiError("USAGE", "not an artifact digest", hint, { field: "digest" });
}

/** The real path of a stored file, if it lies inside the home or the artifact store (symlinks resolved). */
async function storedFile(svc: ApiServices, path: string): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  const roots = [svc.ty.home, svc.ty.artifacts instanceof FsArtifactStore ? svc.ty.artifacts.root : undefined];
  for (const root of roots) {
    const base = root && (await realpath(root).catch(() => undefined));
    if (real && base && real.startsWith(base + sep)) return real;
  }
  throw apiError("NOT_FOUND", "the artifact's file is not in the store", "run `trainyard fsck` to check the store");
}

export function registerArtifactRoutes(app: Hono, svc: ApiServices): void {
  const { ty } = svc;
  const q = ty.query;

  defineRoute(app, svc, "serverInfo", async () => ({
    name: "trainyard",
    apiVersion: "v1",
    version: svc.version,
    readOnly: svc.readOnly,
    tokenRequired: svc.tokenRequired,
    metadata: ty.metadata.backend,
  }));

  defineRoute(app, svc, "artifact", async ({ c }) => q.artifact(digestParam(c)));
  defineRoute(app, svc, "artifactLineage", async ({ c }) => q.artifactLineage(digestParam(c)));

  defineRoute(app, svc, "artifactValue", async ({ c }) => {
    const art = await q.artifact(digestParam(c));
    if (art.kind !== "json") {
      throw apiError(
        "USAGE",
        `artifact ${shortDigest(art.digest)} is a ${art.kind}, not a JSON value`,
        "read its bytes from /content",
      );
    }
    return { digest: art.digest, value: await ty.io.load(art.digest) };
  });

  defineRoute(app, svc, "artifactContent", async ({ c }) => {
    const art = await q.artifact(digestParam(c));
    if (art.kind === "directory" || art.kind === "json") {
      const hint = art.kind === "json" ? "read it from /value" : "a directory has no single content; see its report";
      throw apiError("USAGE", `artifact ${shortDigest(art.digest)} is a ${art.kind}`, hint);
    }
    const file = await storedFile(svc, await ty.verifiedPath(art.digest, { use: "an API download" }));
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream;
    return new Response(body, {
      headers: {
        "content-type": "application/octet-stream",
        "content-disposition":
          `attachment; ` + `filename="${art.digest.slice(art.digest.indexOf(":") + 1, art.digest.indexOf(":") + 17)}"`,
        "x-content-type-options": "nosniff",
      },
    });
  });

  defineRoute(app, svc, "report", async ({ c }) => {
    const [first] = await q.artifactReports(digestParam(c));
    const html = await readFile(await storedFile(svc, first.path), "utf8");
    // A sandboxed page runs in an opaque origin: its scripts cannot call this API as the user.
    c.header("content-security-policy", "sandbox allow-scripts; default-src 'self' 'unsafe-inline' data:");
    c.header("x-content-type-options", "nosniff");
    return c.html(html);
  });

  defineRoute(app, svc, "dataReports", async ({ query }) => ({ reports: await q.dataReports(query) }));

  defineRoute(app, svc, "dataReport", async ({ params }) => {
    const index = Number(params.index);
    if (!Number.isInteger(index) || index < 0)
      throw apiError("USAGE", "index must be a whole number", "see /data/reports");
    return q.dataReport(params.run, params.step, index);
  });

  defineRoute(app, svc, "servingSeries", async ({ params, query }) => {
    const windowMs = query.windowMs ?? 300_000;
    const to = query.until ?? Date.now();
    const from = query.since ?? to - 24 * 3600_000;
    const { model, alias } = params;
    await q.model(model);
    const windows = await servingSeries(ty.registry, { model, alias, windowMs, from, to });
    const series: ServingSeries = { model, alias, windowMs, windows };
    const monitor = await monitoredMetric(svc, model, alias, to);
    return monitor ? { ...series, monitor } : series;
  });

  defineRoute(app, svc, "daemonHealth", async () => daemonHealth(svc.ticks, ty.metadata));
}

/** The metric of the first monitor a known pipeline declares on the alias, per window, newest first. */
async function monitoredMetric(svc: ApiServices, model: string, alias: string, now: number) {
  for (const p of await svc.catalog.list()) {
    const loaded = await loadPipelineTriggers(svc.ty, p.modulePath).catch(() => undefined);
    for (const t of loaded?.triggers ?? []) {
      if (t.kind !== "monitor" || t.model !== model || t.alias !== alias || !t.labels) continue;
      const r = await previewMonitor(svc.ty, loaded!, t, { now });
      const { metric, threshold, direction } = t;
      return { trigger: `${loaded!.pipeline}/${t.name}`, metric, threshold, direction, windows: r.windows };
    }
  }
  return undefined;
}
