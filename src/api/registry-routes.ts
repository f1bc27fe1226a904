/**
 * The model registry: models, versions with metrics and gate verdicts, lineage, alias history,
 * and promote/rollback/unpin with a reason.
 */
import type { Hono } from "hono";
import { parseModelRef } from "../core/model-ref.js";
import { promoteAlias, rollbackAlias, unpinAlias } from "../lib/registry/index.js";
import { defineRoute, type ApiServices } from "./api-context.js";

export function registerRegistryRoutes(app: Hono, svc: ApiServices): void {
  const q = svc.ty.query;

  defineRoute(app, svc, "listModels", async () => ({ models: await q.models() }));
  defineRoute(app, svc, "model", async ({ params }) => q.model(params.model));
  defineRoute(app, svc, "modelVersion", async ({ params }) => q.modelVersion(ref(params.model, params.ref)));
  defineRoute(app, svc, "modelLineage", async ({ params }) => q.modelLineage(ref(params.model, params.ref)));
  defineRoute(app, svc, "aliasHistory", async ({ params, query }) => {
    await q.model(params.model); // NOT_FOUND for an unknown model, not an empty history
    return { model: params.model, events: await q.aliasHistory(params.model, query.alias) };
  });

  const actor = `api:${svc.actor}`;
  defineRoute(app, svc, "promote", async ({ params, body }) =>
    promoteAlias(svc.ty, params.model, body.alias, body.version, { actor, reason: body.reason, force: body.force }),
  );
  defineRoute(app, svc, "rollback", async ({ params, body }) =>
    rollbackAlias(svc.ty, params.model, body.alias, { actor, reason: body.reason }),
  );
  defineRoute(app, svc, "unpin", async ({ params, body }) => ({
    event: await unpinAlias(svc.ty, params.model, body.alias, { actor, reason: body.reason }),
  }));
}

function ref(model: string, version: string) {
  return parseModelRef(`${model}@${version}`);
}
