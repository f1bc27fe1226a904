/**
 * `startApiServer`: the HTTP API under /api/v1 and the web UI, on one port. Binds 127.0.0.1 by
 * default; any other address needs a token (given, or generated once and kept in the home).
 * `trainyard ui` starts it; `trainyard up` can add it beside the daemon and the model server.
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { userInfo } from "node:os";
import { openTickStore } from "../daemon/open-tick-store.js";
import { PACKAGE_ROOT } from "../engine/package-root.js";
import type { Trainyard } from "../engine/trainyard.js";
import { requireAccess, requireSameOrigin } from "./access.js";
import type { ApiServices } from "./api-context.js";
import { apiError, sendError } from "./api-errors.js";
import { resolveApiToken, type ApiToken } from "./api-token.js";
import { registerArtifactRoutes } from "./artifact-routes.js";
import { registerExperimentRoutes } from "./experiment-routes.js";
import { openApiDocument } from "./openapi.js";
import { PipelineCatalog } from "./pipeline-catalog.js";
import { registerPipelineRoutes } from "./pipeline-routes.js";
import { registerRegistryRoutes } from "./registry-routes.js";
import { API_PREFIX } from "./routes.js";
import { registerRunRoutes } from "./run-routes.js";
import { serveUi, UI_DIR } from "./static-ui.js";
import { registerTriggerRoutes } from "./trigger-routes.js";
import { registerWorkerRoutes } from "./worker-routes.js";

export interface ApiServerOptions {
  /** The home to serve (its stores stay open while the server runs; the caller closes it after). */
  ty: Trainyard;
  /** Pipeline modules to offer besides those recorded runs came from. @default none */
  modules?: string[];
  /** @default 8321; 0 picks a free port */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** Required on every API call. @default none on loopback; elsewhere $TRAINYARD_API_TOKEN or <home>/api-token */
  token?: string;
  /** Refuse every mutation. @default false */
  readOnly?: boolean;
  /** Largest request body in bytes. @default 1 MiB */
  maxBodyBytes?: number;
  /** Launch a requested run here when no daemon is alive. @default true */
  launchWithoutDaemon?: boolean;
  /** How often live streams look for changes, in ms. @default 250 */
  pollMs?: number;
  /** Where the UI's files are. @default dist/ui of the package */
  uiDir?: string;
}

export interface ApiServer {
  url: string;
  port: number;
  host: string;
  /** The token clients must send, when one is required. */
  token?: ApiToken;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host);
}

/** The Hono app alone (tests and embedding); `startApiServer` listens with it. */
export async function createApiApp(
  opts: ApiServerOptions,
): Promise<{ app: Hono; services: ApiServices; token?: ApiToken; close(): Promise<void> }> {
  const host = opts.host ?? "127.0.0.1";
  const token = opts.token !== undefined || !isLoopback(host) ? resolveApiToken(opts.ty.home, opts.token) : undefined;
  const ticks = await openTickStore(opts.ty);
  const services: ApiServices = {
    ty: opts.ty,
    ticks,
    catalog: new PipelineCatalog(opts.ty, opts.modules ?? []),
    readOnly: opts.readOnly ?? false,
    tokenRequired: token !== undefined,
    version: packageVersion(),
    launchWithoutDaemon: opts.launchWithoutDaemon ?? true,
    pollMs: opts.pollMs ?? 250,
    actor: currentUser(),
  };
  const app = new Hono();
  const maxSize = opts.maxBodyBytes ?? 1024 * 1024;
  app.onError((err, c) => sendError(c, err));
  app.use("*", requireAccess({ token: token?.value }));
  app.use(`${API_PREFIX}/*`, requireSameOrigin());
  app.use(`${API_PREFIX}/*`, async (c, next) => {
    c.header("cache-control", "no-store");
    c.header("x-content-type-options", "nosniff");
    await next();
  });
  app.use(
    `${API_PREFIX}/*`,
    bodyLimit({
      maxSize,
      onError: (c) =>
        sendError(
          c,
          apiError("API_BODY_TOO_LARGE", `the request body is over ${maxSize} bytes`, "send a smaller body"),
        ),
    }),
  );
  app.get(`${API_PREFIX}/openapi.json`, (c) => c.json(openApiDocument(services.version)));
  registerPipelineRoutes(app, services);
  registerRunRoutes(app, services);
  registerExperimentRoutes(app, services);
  registerTriggerRoutes(app, services);
  registerRegistryRoutes(app, services);
  registerArtifactRoutes(app, services);
  registerWorkerRoutes(app, services);
  app.all(`${API_PREFIX}/*`, (c) =>
    sendError(c, apiError("NOT_FOUND", `no route ${c.req.method} ${c.req.path}`, "see /api/v1/openapi.json")),
  );
  app.all("/api/*", (c) => sendError(c, apiError("NOT_FOUND", `no API version at ${c.req.path}`, "use /api/v1")));
  app.get("*", (c) => serveUi(c, opts.uiDir ?? UI_DIR));
  return { app, services, token, close: () => ticks.close() };
}

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? "127.0.0.1";
  const { app, services, token, close } = await createApiApp(opts);
  // The given modules load (bundle and import, most of a second each) before a page needs their graph.
  void services.catalog.list().catch(() => undefined);
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 8321, hostname: host }, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 8321);
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    host,
    token,
    close: async () => {
      // Event streams stay open until their client leaves; end them with the server.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await close();
    },
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "0.0.0";
  }
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}
