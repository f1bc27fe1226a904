/**
 * What every route handler works with (the home, its tick ledger, the known pipelines and the
 * server's mode), and `defineRoute`, which binds a handler to its entry in the route table:
 * it parses the query and body with the route's schemas, refuses mutations in read-only mode
 * and answers errors as JSON.
 */
import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { Trainyard } from "../engine/trainyard.js";
import type { TickStore } from "../store/tick-store.js";
import { apiError, sendError } from "./api-errors.js";
import type { PipelineCatalog } from "./pipeline-catalog.js";
import { honoPath, ROUTES, type RouteId, type RouteSpec } from "./routes.js";

export interface ApiServices {
  ty: Trainyard;
  ticks: TickStore;
  catalog: PipelineCatalog;
  readOnly: boolean;
  tokenRequired: boolean;
  version: string;
  /** Launch a requested run here when no daemon is alive. */
  launchWithoutDaemon: boolean;
  /** How often live streams look for changes, in ms. */
  pollMs: number;
  /** Who asks, for records of who moved an alias or requested a run. */
  actor: string;
}

type QueryOf<R> = R extends { query: infer Q extends z.ZodType } ? z.output<Q> : Record<string, never>;
type BodyOf<R> = R extends { body: infer B extends z.ZodType } ? z.output<B> : undefined;

export interface RouteInput<I extends RouteId> {
  c: Context;
  params: Record<string, string>;
  query: QueryOf<(typeof ROUTES)[I]>;
  body: BodyOf<(typeof ROUTES)[I]>;
}

type Handler<I extends RouteId> = (input: RouteInput<I>) => Promise<unknown>;

export function defineRoute<I extends RouteId>(app: Hono, svc: ApiServices, id: I, handler: Handler<I>): void {
  const spec: RouteSpec = ROUTES[id];
  app.on(spec.method.toUpperCase(), honoPath(spec.path), async (c) => {
    try {
      if (spec.mutates && svc.readOnly) {
        const hint = "this server was started with --read-only; use the CLI or a server without it";
        throw apiError("API_READ_ONLY", `${spec.method.toUpperCase()} ${c.req.path} changes state`, hint);
      }
      const query = spec.query ? parse(spec.query, c.req.query(), "query") : {};
      const body = spec.body ? parse(spec.body, await readJson(c), "body") : undefined;
      const params = c.req.param() as Record<string, string>;
      const result = await handler({ c, params, query, body } as RouteInput<I>);
      if (result instanceof Response) return result;
      return c.json(result as object, (spec.status ?? 200) as ContentfulStatusCode);
    } catch (err) {
      return sendError(c, err);
    }
  });
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const field = first.path.join(".") || where;
  const problems = r.error.issues.map((i) => `${i.path.join(".") || where}: ${i.message}`).join("; ");
  throw apiError("USAGE", `invalid ${where}: ${problems}`, `fix the ${where} field "${field}"`, { field });
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw apiError("USAGE", "the request body is not JSON", "send a JSON object with Content-Type: application/json");
  }
}
