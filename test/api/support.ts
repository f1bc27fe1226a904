/**
 * A real API server (`startApiServer` on a free loopback port) over a real home, a fetch helper
 * that records every JSON answer by route (for the OpenAPI check), and polling helpers.
 */
import { z } from "zod";
import { startApiServer, type ApiServer, type ApiServerOptions } from "../../src/api/server.js";
import { openApiDocument } from "../../src/api/openapi.js";
import { API_PREFIX, ROUTES, type RouteId } from "../../src/api/routes.js";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { REPO } from "../engine/support.js";
import path from "node:path";

export const API_FIXTURE = path.join(REPO, "test", "fixtures", "api", "api-pipeline.ts");
/** Records losses per epoch, a final accuracy, a tag and a small search's scores per trial. */
export const EXPERIMENT_FIXTURE = path.join(REPO, "test", "fixtures", "experiments", "experiment-pipeline.ts");

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export class ApiClient {
  /** JSON answers by route id, with their status, for the OpenAPI check. */
  readonly answers = new Map<RouteId, Array<{ status: number; body: unknown }>>();

  constructor(
    readonly server: ApiServer,
    private readonly headers: Record<string, string> = {},
  ) {}

  get url(): string {
    return this.server.url;
  }

  async call(
    route: RouteId | null,
    method: string,
    p: string,
    opts: { body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...this.headers, ...opts.headers };
    if (method !== "GET") headers["x-requested-with"] ??= "trainyard-test";
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.url + API_PREFIX + p, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    const json = (res.headers.get("content-type") ?? "").includes("application/json");
    const answer: Answer = { status: res.status, body: json ? JSON.parse(text) : text, headers: res.headers };
    if (route && json) {
      const list = this.answers.get(route) ?? [];
      list.push({ status: res.status, body: answer.body });
      this.answers.set(route, list);
    }
    return answer;
  }

  get(route: RouteId | null, p: string, headers?: Record<string, string>) {
    return this.call(route, "GET", p, { headers });
  }

  post(route: RouteId | null, p: string, body?: unknown, headers?: Record<string, string>) {
    return this.call(route, "POST", p, { body: body ?? {}, headers });
  }
}

export async function startApi(ty: Trainyard, opts: Partial<ApiServerOptions> = {}): Promise<ApiClient> {
  const server = await startApiServer({ ty, modules: [API_FIXTURE], port: 0, pollMs: 50, ...opts });
  return new ApiClient(server);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForRun(
  api: ApiClient,
  runId: string,
  statuses = ["succeeded", "failed", "cancelled", "rejected"],
) {
  return waitFor(`run ${runId} to end`, async () => {
    const r = await api.get(null, `/runs/${runId}`);
    return r.status === 200 && statuses.includes(r.body.run.status) ? r.body : undefined;
  });
}

/** Validates every recorded answer against the OpenAPI document's schema for its route and status. */
export function openApiViolations(api: ApiClient): string[] {
  const doc = openApiDocument("test") as { paths: Record<string, Record<string, any>> };
  const out: string[] = [];
  for (const [id, answers] of api.answers) {
    const spec = ROUTES[id];
    const op = doc.paths[API_PREFIX + spec.path]?.[spec.method];
    if (!op) {
      out.push(`${id}: not in the document`);
      continue;
    }
    for (const a of answers) {
      const schema = op.responses[String(a.status)]?.content?.["application/json"]?.schema;
      if (!schema) {
        out.push(`${id}: status ${a.status} is not documented`);
        continue;
      }
      const r = z.fromJSONSchema(schema).safeParse(a.body);
      if (!r.success) out.push(`${id} (${a.status}): ${JSON.stringify(r.error.issues.slice(0, 3))}`);
    }
  }
  return out;
}

export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Reads events until `stop` says so (or the stream ends), then drops the connection. */
export async function readEvents(url: string, opts: { lastEventId?: string; stop: (all: SseEvent[]) => boolean }) {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (opts.lastEventId) headers["last-event-id"] = opts.lastEventId;
  const res = await fetch(url, { headers, signal: controller.signal });
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    throw new Error(`${url}: not an event stream (HTTP ${res.status}: ${await res.text()})`);
  }
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = "";
  let ended = false;
  while (!opts.stop(events)) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    buffer += value;
    for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const field = (name: string) =>
        block
          .split("\n")
          .filter((l) => l.startsWith(`${name}: `))
          .map((l) => l.slice(name.length + 2))
          .join("\n");
      events.push({ event: field("event"), id: field("id") || undefined, data: JSON.parse(field("data") || "null") });
      if (opts.stop(events)) break;
    }
  }
  controller.abort();
  return { events, ended };
}
