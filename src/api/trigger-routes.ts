/**
 * Triggers: declared ones of the known pipelines and those with recorded state, with next and
 * last tick; a trigger's tick history with reasons; pause, unpause and preview; and the home's
 * live event stream (run state and ticks).
 */
import type { Hono } from "hono";
import { TrainyardError } from "../core/errors.js";
import { loadPipelineTriggers } from "../daemon/pipeline-triggers.js";
import { summarizeTrigger } from "../daemon/trigger-summary.js";
import { previewTrigger } from "../daemon/trigger-preview.js";
import type { TickRecord, TriggerState } from "../store/tick-store.js";
import { defineRoute, type ApiServices } from "./api-context.js";
import { apiError } from "./api-errors.js";
import { streamHomeEvents } from "./live-events.js";
import type { TriggerView } from "./schemas.js";

export function registerTriggerRoutes(app: Hono, svc: ApiServices): void {
  defineRoute(app, svc, "listTriggers", async () => ({ triggers: await listTriggers(svc) }));

  defineRoute(app, svc, "triggerTicks", async ({ params, query }) => {
    const trigger = `${params.pipeline}/${params.name}`;
    const ticks = await svc.ticks.listTicks(trigger, { limit: query.limit ?? 50, before: query.before });
    return { trigger, ticks: ticks.map(tickView) };
  });

  for (const id of ["pauseTrigger", "unpauseTrigger"] as const) {
    defineRoute(app, svc, id, async ({ params }) => {
      const trigger = `${params.pipeline}/${params.name}`;
      await requireKnownTrigger(svc, params.pipeline, params.name);
      const paused = id === "pauseTrigger";
      await svc.ticks.setPaused(trigger, paused);
      return { trigger, paused };
    });
  }

  defineRoute(app, svc, "previewTrigger", async ({ params, body }) => {
    const known = await svc.catalog.resolve(params.pipeline);
    const loaded = await loadPipelineTriggers(svc.ty, known.modulePath);
    const now = instant(body.now, "now") ?? Date.now();
    return previewTrigger(svc.ty, loaded, params.name, { now, since: instant(body.since, "since") });
  });

  defineRoute(app, svc, "events", async ({ c }) => streamHomeEvents(c, svc));
}

function instant(v: string | undefined, field: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = /(Z|[+-]\d\d:?\d\d)$/i.test(v) ? Date.parse(v) : NaN;
  if (Number.isFinite(ms)) return ms;
  throw apiError(
    "USAGE",
    `${field} expects an ISO 8601 time with Z or an offset, got "${v}"`,
    `e.g. "2026-01-01T00:00:00Z"`,
    { field },
  );
}

/** A trigger is known when it has state or a known pipeline declares it; pausing a typo would do nothing. */
async function requireKnownTrigger(svc: ApiServices, pipeline: string, name: string): Promise<void> {
  const trigger = `${pipeline}/${name}`;
  if (await svc.ticks.getTriggerState(trigger)) return;
  if ((await listTriggers(svc)).some((t) => t.trigger === trigger)) return;
  throw new TrainyardError("NOT_FOUND", `no trigger "${trigger}"`, {
    trigger,
    hint: "list triggers with GET /api/v1/triggers; name one as <pipeline>/<name>",
  });
}

async function listTriggers(svc: ApiServices): Promise<TriggerView[]> {
  const now = Date.now();
  const byId = new Map<string, TriggerView>();
  const states = new Map<string, TriggerState>((await svc.ticks.listTriggerStates()).map((s) => [s.trigger, s]));
  for (const p of await svc.catalog.list()) {
    const loaded = await loadPipelineTriggers(svc.ty, p.modulePath).catch(() => undefined);
    for (const t of loaded?.triggers ?? []) {
      const s = summarizeTrigger(t, now, loaded!.moduleDir);
      const trigger = `${loaded!.pipeline}/${t.name}`;
      const timezone = t.kind === "schedule" ? t.timezone : undefined;
      byId.set(trigger, {
        trigger,
        pipeline: loaded!.pipeline,
        name: t.name,
        kind: t.kind,
        what: s.what,
        next: s.next,
        nextTick: s.nextTick,
        timezone,
        paused: false,
        failures: 0,
      });
    }
  }
  for (const [trigger, s] of states) {
    const at = trigger.lastIndexOf("/");
    const base: TriggerView = byId.get(trigger) ?? {
      trigger,
      pipeline: trigger.slice(0, Math.max(0, at)),
      name: trigger.slice(at + 1),
      paused: false,
      failures: 0,
    };
    const [last] = await svc.ticks.listTicks(trigger, { limit: 1 });
    byId.set(trigger, {
      ...base,
      paused: s.paused,
      evaluatedAt: s.evaluatedAt,
      failures: s.failures,
      backoffUntil: s.backoffUntil,
      lastError: s.lastError && { code: s.lastError.code, message: s.lastError.message, hint: s.lastError.hint },
      lastTick: last && tickView(last),
    });
  }
  return [...byId.values()].sort((a, b) => (a.trigger < b.trigger ? -1 : 1));
}

function tickView(t: TickRecord) {
  const { error, ...rest } = t;
  return { ...rest, ...(error ? { error: { code: error.code, message: error.message, hint: error.hint } } : {}) };
}
