/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table and its zod schemas
 * (zod 4's `z.toJSONSchema`, draft 2020-12, which OpenAPI 3.1 uses as its schema dialect).
 */
import { z } from "zod";
import { API_PREFIX, ROUTES, type RouteSpec } from "./routes.js";
import { ErrorResponseSchema } from "./schemas.js";

type JsonSchema = Record<string, unknown>;

/** Schemas as responses carry them (`io: "output"`) or as requests must (`io: "input"`). */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
  delete out.$schema;
  return out;
}

const ERROR_STATUSES: Record<string, string> = {
  "400": "the request is invalid (code USAGE, PARAM_INVALID, ...)",
  "401": "the token is missing or wrong (SERVE_TOKEN_REQUIRED, SERVE_TOKEN_INVALID)",
  "403": "a mutation without the same-origin header, or in read-only mode (API_FORBIDDEN, API_READ_ONLY)",
  "404": "no such run, step, artifact, model or route (NOT_FOUND)",
  "409":
    "the run or alias is in a state that refuses it (RUN_NOT_RESUMABLE, ALIAS_PINNED, ...), or a run id prefix" +
    " matches several runs (RUN_AMBIGUOUS, with the matches)",
  "413": "the request body is too large (API_BODY_TOO_LARGE)",
};

function operation(id: string, r: RouteSpec): JsonSchema {
  const parameters: JsonSchema[] = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  if (r.query) {
    const q = jsonSchema(r.query, "input") as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const description = schema.description;
      parameters.push({ name, in: "query", required: q.required?.includes(name) ?? false, schema, description });
    }
  }
  if (r.idempotent) {
    parameters.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description: "the same key asks for the same run: it is created once, and returned again after",
      schema: { type: "string", maxLength: 200 },
    });
  }
  const ok = String(r.status ?? 200);
  const content = r.response
    ? { "application/json": { schema: jsonSchema(r.response, "output") } }
    : { [r.produces ?? "application/json"]: { schema: { type: "string" } } };
  const responses: Record<string, JsonSchema> = { [ok]: { description: r.summary, content } };
  const errorSchema = jsonSchema(ErrorResponseSchema, "output");
  for (const [status, description] of Object.entries(ERROR_STATUSES)) {
    if ((status === "413" || status === "403") && r.method === "get") continue;
    responses[status] = { description, content: { "application/json": { schema: errorSchema } } };
  }
  const op: JsonSchema = { operationId: id, summary: r.summary, tags: [r.tag], parameters, responses };
  if (r.body) {
    op.requestBody = { required: true, content: { "application/json": { schema: jsonSchema(r.body, "input") } } };
  }
  if (r.mutates) op["x-mutates"] = true;
  return op;
}

let cached: JsonSchema | undefined;

export function openApiDocument(version: string): JsonSchema {
  if (cached) return cached;
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [id, r] of Object.entries(ROUTES) as Array<[string, RouteSpec]>) {
    (paths[API_PREFIX + r.path] ??= {})[r.method] = operation(id, r);
  }
  cached = {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Trainyard API",
      version,
      description:
        "Runs, triggers, artifacts, data reports, the model registry and serving of one Trainyard home. " +
        "Send the token as `Authorization: Bearer <token>` (required beyond loopback); mutating calls " +
        "also need `X-Requested-With: trainyard` or a same-origin `Origin`.",
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }, {}],
    paths,
  };
  return cached;
}
