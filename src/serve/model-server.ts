/**
 * The model server: registry aliases over plain `node:http`.
 *
 *   POST /v1/models/<name>/<alias>:predict   {"rows": [...]} -> {model, version, alias, predictionId, predictions}
 *                                            (the id also in `X-Prediction-Id`: clients send it back with labels)
 *   GET  /v1/models[/<name>/<alias>]         what is served
 *   GET  /healthz, /readyz, /metrics
 *
 * Client mistakes are 4xx `{ error: { code, message, field? } }`; nothing a request sends can
 * stop the process, and no client holds a socket for ever (header, request and idle timeouts).
 * With a token, every route but /healthz needs `Authorization: Bearer <token>`.
 * Dependencies (registry, artifact paths, the predictor loader) are passed in.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { asErrorCode, TrainyardError } from "../core/errors.js";
import { RepeatedFailures } from "../core/repeated-failures.js";
import type { RegistryStore } from "../store/registry-store.js";
import { HttpError, predictRows, receiveJsonBody, sendError, sendJson, sendJsonText, sendText } from "./http-io.js";
import { PredictionLogRetention, type PredictionLogRetentionOptions } from "./prediction-log-retention.js";
import { PredictionIds, takeRowKeys } from "./prediction-id.js";
import { PredictionLogger, stderrFailures } from "./prediction-logger.js";
import { asInputRejection, type PredictorLoader } from "./predictor-port.js";
import { BearerToken, requireTokenBeyondLoopback } from "./serve-access.js";
import { ServeMetrics, type RequestSeries } from "./serve-metrics.js";
import { ServedModels, servedKey, type LoadedModel, type ServeTarget } from "./served-models.js";

export interface ModelServerOptions {
  registry: RegistryStore;
  /** Local directory of a stored model artifact. */
  artifactPath: (digest: string) => Promise<string>;
  loadPredictor: PredictorLoader;
  /** What to serve. @default every alias of every registered model */
  targets?: ServeTarget[];
  /**
   * Largest accepted request body in bytes; a larger one gets 413 BODY_TOO_LARGE (CLI: `serve --max-body 4MiB`).
   * At about 100 bytes a row, 1 MiB holds some 10,000 rows. @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /** Most rows in one predict request. @default 10000 */
  maxRows?: number;
  /** Fraction of predict requests written to the prediction log. @default 0.01 */
  logSample?: number;
  /**
   * Input column naming each row for late labels: logged as the row's key, and left out of the
   * rows the model scores unless the model takes it as an input. @default none
   */
  rowKey?: string;
  /** The clock that stamps prediction log entries (a replay or a test freezes it). @default Date.now */
  now?: () => number;
  /** How often to check for alias moves, in ms. @default 200 */
  pollMs?: number;
  /** Most rows scored in one model call across concurrent requests; 1 turns batching off. @default 256 */
  maxBatchRows?: number;
  /** Told about loads, swaps and internal errors, in words. @default silent */
  onEvent?: (message: string) => void;
  /** Retention of the prediction log (by age and rows), enforced while serving. @default 30 days, 1000000 rows */
  logRetention?: Omit<PredictionLogRetentionOptions, "onPrune" | "failures">;
  /**
   * Bearer token every route but /healthz requires; required when listening beyond loopback.
   * @default none (loopback only)
   */
  token?: string;
  /** Most time a client may take to send a request's headers, in ms. @default 10000 */
  headersTimeoutMs?: number;
  /** Most time a client may take to send a whole request (headers and body), in ms. @default 30000 */
  requestTimeoutMs?: number;
  /** How long a kept-alive socket waits for its next request, in ms. @default 5000 */
  keepAliveTimeoutMs?: number;
  /** A socket with no traffic either way for this long is closed, in ms; 0 never. @default 60000 */
  idleTimeoutMs?: number;
}

/** The timeouts `ModelServerOptions` defaults to, for the CLI's help and docs/serving.md. */
export const SERVE_TIMEOUTS = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
} as const;

const PREDICT_SUFFIX = ":predict";
/** Request URLs remembered as predict routes; past this many the memory is cleared (URLs are client input). */
const PREDICT_URL_CACHE = 1024;

/** What a served model's predict responses share, computed on its first request. */
interface PredictRoute {
  /** `{"model":...,"version":...,"alias":...,"predictionId":"` : the response up to the id. */
  responsePrefix: string;
  series: RequestSeries;
  /** The declared row-key column is not a model input: it is taken out of the rows scored. */
  stripRowKey: boolean;
}

/** What follows the prediction id in a predict response, up to the predictions. */
const AFTER_ID = `","predictions":`;

export class ModelServer {
  readonly metrics = new ServeMetrics();
  readonly models: ServedModels;
  private readonly logger: PredictionLogger;
  private readonly ids = new PredictionIds();
  private readonly retention: PredictionLogRetention;
  private readonly token: BearerToken | undefined;
  private readonly http: Server;
  private readonly maxBody: number;
  private readonly maxRows: number;
  private readonly predictRoutes = new WeakMap<LoadedModel, PredictRoute>();
  /** Request URL -> served key, for URLs that were a predict route: the hot path skips parsing the path. */
  private readonly predictUrls = new Map<string, string>();

  constructor(private readonly opts: ModelServerOptions) {
    this.maxBody = opts.maxBodyBytes ?? 1024 * 1024;
    this.maxRows = opts.maxRows ?? 10_000;
    this.models = new ServedModels(
      {
        registry: opts.registry,
        artifactPath: opts.artifactPath,
        loadPredictor: opts.loadPredictor,
        metrics: this.metrics,
      },
      { targets: opts.targets, pollMs: opts.pollMs, maxBatchRows: opts.maxBatchRows, onEvent: opts.onEvent },
    );
    this.token = opts.token === undefined ? undefined : new BearerToken(opts.token);
    const timeouts = compileTimeouts(opts);
    // A full disk or a database away fails these writes every few hundred ms: said once, then once a minute.
    const failures = opts.onEvent ? new RepeatedFailures(opts.onEvent) : stderrFailures();
    this.logger = new PredictionLogger(opts.registry, {
      sample: opts.logSample,
      onFlush: (n, dropped) => this.metrics.logged(n, dropped),
      failures,
    });
    const onPrune = (n: number) => this.metrics.pruned(n);
    this.retention = new PredictionLogRetention(opts.registry, { ...opts.logRetention, onPrune, failures });
    this.http = createServer(
      {
        headersTimeout: timeouts.headersTimeoutMs,
        requestTimeout: timeouts.requestTimeoutMs,
        // Node checks the two timeouts above on this interval (30 s by default): a slow client goes on time.
        connectionsCheckingInterval: Math.max(50, Math.min(1000, timeouts.headersTimeoutMs / 4)),
      },
      (req, res) => this.route(req, res),
    );
    this.http.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
    // Without a 'timeout' listener, node:http destroys a socket idle this long.
    this.http.timeout = timeouts.idleTimeoutMs;
    // A malformed request line or header must cost one connection, never the process.
    this.http.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      else socket.destroy();
    });
  }

  /** Starts listening at once (/readyz says 503 while models load), then loads the served aliases. */
  async listen(port = 8080, host = "127.0.0.1"): Promise<{ url: string; port: number }> {
    requireTokenBeyondLoopback(host, this.token);
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(port, host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    await this.models.start();
    const addr = this.http.address() as AddressInfo;
    return { url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`, port: addr.port };
  }

  /** Stops accepting, lets running requests finish (up to `graceMs`), flushes the log, frees models. */
  async close(graceMs = 5000): Promise<void> {
    this.models.stop();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const force = setTimeout(() => this.http.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(force);
    await this.retention.close();
    await this.logger.close();
    await this.models.closeAll();
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "/";
    if (this.token !== undefined && !this.token.allows(req.headers.authorization) && !isHealthz(url)) {
      return sendUnauthorized(req, res);
    }
    const known = this.predictUrls.get(url);
    if (known !== undefined && req.method === "POST") {
      const slot = this.models.getByKey(known);
      // An alias no longer served takes the full route below, which answers 404.
      if (slot) return this.predict(req, res, slot);
    }
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path.startsWith("/v1/models/")) return this.modelRoute(req, res, path.slice(11));
    const get = (fn: () => void) =>
      req.method === "GET" || req.method === "HEAD" ? fn() : sendError(res, notAllowed(req.method, "GET"));
    switch (path) {
      case "/healthz":
        return get(() => sendJson(res, 200, { status: "ok" }));
      case "/readyz":
        return get(() => {
          const r = this.models.readiness();
          sendJson(res, r.ready ? 200 : 503, { ready: r.ready, missing: r.missing, errors: r.errors });
        });
      case "/metrics":
        return get(() => sendText(res, 200, this.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"));
      case "/v1/models":
      case "/v1/models/":
        return get(() => sendJson(res, 200, { models: this.models.list().map(describeSlot) }));
      default:
        return sendError(
          res,
          new HttpError(404, "NOT_FOUND", `no route ${path}`, {
            hint: "predict with POST /v1/models/<name>/<alias>:predict",
          }),
        );
    }
  }

  private modelRoute(req: IncomingMessage, res: ServerResponse, rest: string): void {
    const slash = rest.indexOf("/");
    const predict = rest.endsWith(PREDICT_SUFFIX);
    const model = slash < 0 ? rest : rest.slice(0, slash);
    const alias = slash < 0 ? "" : rest.slice(slash + 1, predict ? -PREDICT_SUFFIX.length : undefined);
    if (!model || !alias || alias.includes("/")) {
      return sendError(
        res,
        new HttpError(404, "NOT_FOUND", `no route /v1/models/${rest}`, {
          hint: "predict with POST /v1/models/<name>/<alias>:predict",
        }),
      );
    }
    const slot = this.models.get(model, alias);
    if (predict && req.method !== "POST") return sendError(res, notAllowed(req.method, "POST"));
    if (!predict && req.method !== "GET") return sendError(res, notAllowed(req.method, "GET"));
    if (!slot) {
      const err = this.notServed(model, alias);
      if (predict) this.metrics.observe("", "", err.status, 0);
      return sendError(res, err);
    }
    if (!predict) return sendJson(res, 200, { ...describeSlot(slot), inputFields: slot.predictor.inputFields });
    if (this.predictUrls.size >= PREDICT_URL_CACHE) this.predictUrls.clear();
    this.predictUrls.set(req.url!, servedKey(model, alias));
    this.predict(req, res, slot);
  }

  /** Why an alias is not served: its bundle failed to load, the registry is empty, or no such alias. */
  private notServed(model: string, alias: string): HttpError {
    const failed = this.models.loadError(model, alias);
    if (failed !== undefined) {
      return new HttpError(
        503,
        "MODEL_UNAVAILABLE",
        `${model}/${alias} is registered but its model could not be loaded: ${failed}`,
        {
          hint:
            `the bundle is broken or missing: ` +
            `move the alias to a good version ` +
            `(trainyard models rollback ${model} ${alias}), re-run the pipeline that trained it, ` +
            `and check the store with trainyard fsck`,
        },
      );
    }
    if (this.models.registeredModels() === 0) {
      return new HttpError(404, "REGISTRY_EMPTY", "the registry has no models yet", {
        hint:
          "run a pipeline whose register and deploy steps put a model behind an alias (e.g. " +
          "production); this server picks it up without a restart",
      });
    }
    const served = this.models.list().map((s) => `${s.model}/${s.alias}`);
    return new HttpError(404, "MODEL_NOT_FOUND", `no model is served as ${model}/${alias}`, {
      hint: served.length
        ? `served: ${served.join(", ")}`
        : "no alias is set: promote a version to an alias (trainyard models promote)",
    });
  }

  /**
   * The hot path, in callbacks rather than awaits: body -> rows -> batcher -> response. Every way
   * out goes through `finish`, once, which releases the predictor and records the request.
   */
  private predict(req: IncomingMessage, res: ServerResponse, slot: LoadedModel): void {
    const start = performance.now();
    // Hold this predictor for the whole request: a hot swap must not pull it away mid-flight.
    slot.inflight++;
    const route = this.predictRouteOf(slot);
    receiveJsonBody(req, this.maxBody, (bodyErr, body) => {
      if (bodyErr) return this.finish(res, slot, route, start, bodyErr);
      let rows: unknown[];
      let modelRows: unknown[];
      let rowKeys: Array<string | null> | undefined;
      try {
        rows = predictRows(body, this.maxRows);
        modelRows = rows;
        const key = this.opts.rowKey;
        if (key !== undefined) ({ rowKeys, modelRows } = takeRowKeys(rows, key, !route.stripRowKey));
      } catch (err) {
        return this.finish(res, slot, route, start, err);
      }
      slot.batcher.submit(modelRows, (predictErr, predictions) => {
        if (predictErr !== undefined) return this.finish(res, slot, route, start, predictErr);
        try {
          const predictionId = this.ids.next();
          // Equal to JSON.stringify({ model, version, alias, predictionId, predictions }), constant part encoded once.
          const text = `${route.responsePrefix}${predictionId}${AFTER_ID}${JSON.stringify(predictions)}}`;
          sendJsonText(res, 200, text, ["x-prediction-id", predictionId]);
          if (this.logger.shouldLog()) {
            const { model, version, alias } = slot;
            const latencyMs = performance.now() - start;
            const output = predictions!;
            const ts = this.opts.now?.() ?? Date.now();
            this.logger.push({ model, version, alias, ts, input: rows, output, latencyMs, predictionId, rowKeys });
          }
        } catch (err) {
          return this.finish(res, slot, route, start, err);
        }
        this.finish(res, slot, route, start, undefined);
      });
    });
  }

  /** Ends a predict request: renders `err` when there is one, releases the predictor, records the request. */
  private finish(res: ServerResponse, slot: LoadedModel, route: PredictRoute, start: number, err: unknown): void {
    let status = 200;
    if (err !== undefined) {
      try {
        status = this.renderError(res, err, slot);
      } catch {
        status = 500;
        res.destroy();
      }
    }
    this.models.release(slot);
    this.metrics.record(route.series, status, (performance.now() - start) / 1000);
  }

  private predictRouteOf(slot: LoadedModel): PredictRoute {
    let route = this.predictRoutes.get(slot);
    if (!route) {
      const prefix = JSON.stringify({ model: slot.model, version: slot.version, alias: slot.alias });
      const key = this.opts.rowKey;
      route = {
        responsePrefix: `${prefix.slice(0, -1)},"predictionId":"`,
        series: this.metrics.seriesOf(slot.model, slot.alias),
        stripRowKey: key !== undefined && !slot.predictor.inputFields.some((f) => f.name === key),
      };
      this.predictRoutes.set(slot, route);
    }
    return route;
  }

  private renderError(res: ServerResponse, err: unknown, slot: LoadedModel): number {
    let httpErr: HttpError;
    if (err instanceof HttpError) httpErr = err;
    else {
      const rejection = asInputRejection(err);
      if (rejection)
        httpErr = new HttpError(rejection.status, asErrorCode(rejection.code), rejection.message, {
          field: rejection.field,
          row: rejection.row,
          hint: rejection.hint,
        });
      else {
        const detail = (err as Error)?.stack ?? String(err);
        this.opts.onEvent?.(`predict failed in ${slot.model}/${slot.alias} version ${slot.version}: ${detail}`);
        httpErr = new HttpError(
          500,
          "PREDICT_FAILED",
          `the model failed to predict: ${(err as Error)?.message ?? String(err)}`,
        );
      }
    }
    if (!res.headersSent) sendError(res, httpErr);
    else res.destroy();
    return httpErr.status;
  }
}

function isHealthz(url: string): boolean {
  return url === "/healthz" || url.startsWith("/healthz?");
}

function sendUnauthorized(req: IncomingMessage, res: ServerResponse): void {
  const given = req.headers.authorization !== undefined;
  const message = given ? "the bearer token is not this server's" : "this server requires a bearer token";
  const err = new HttpError(401, "UNAUTHORIZED", message, {
    hint: `send "Authorization: Bearer <token>" with the server's token (its --token or TRAINYARD_SERVE_TOKEN)`,
  });
  const challenge = `Bearer realm="trainyard"${given ? ', error="invalid_token"' : ""}`;
  // An unauthenticated body is not worth reading: close rather than drain it for the next request.
  sendError(res, err, { "www-authenticate": challenge, connection: "close" });
}

/** Fills in the timeout defaults and checks they fit together. */
function compileTimeouts(opts: ModelServerOptions): Record<keyof typeof SERVE_TIMEOUTS, number> {
  const t: Record<keyof typeof SERVE_TIMEOUTS, number> = {
    headersTimeoutMs: opts.headersTimeoutMs ?? SERVE_TIMEOUTS.headersTimeoutMs,
    requestTimeoutMs: opts.requestTimeoutMs ?? SERVE_TIMEOUTS.requestTimeoutMs,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? SERVE_TIMEOUTS.keepAliveTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? SERVE_TIMEOUTS.idleTimeoutMs,
  };
  for (const [name, ms] of Object.entries(t)) {
    const zeroOk = name === "idleTimeoutMs";
    if (!Number.isInteger(ms) || ms < 0 || (ms === 0 && !zeroOk)) {
      const message = `${name} must be a positive number of milliseconds, got ${ms}`;
      throw new TrainyardError("SERVE_OPTIONS_INVALID", message, { field: name });
    }
  }
  if (t.headersTimeoutMs > t.requestTimeoutMs) {
    const message = `headersTimeoutMs (${t.headersTimeoutMs}) exceeds requestTimeoutMs (${t.requestTimeoutMs})`;
    throw new TrainyardError("SERVE_OPTIONS_INVALID", message, {
      field: "headersTimeoutMs",
      hint: "the headers are part of the request: give them at most the request's time",
    });
  }
  return t;
}

function notAllowed(method: string | undefined, allow: string): HttpError {
  return new HttpError(405, "METHOD_NOT_ALLOWED", `${method ?? "?"} is not allowed here; use ${allow}`, { allow });
}

function describeSlot(s: LoadedModel): Record<string, unknown> {
  const { task, label, classes } = s.predictor;
  return {
    model: s.model,
    alias: s.alias,
    version: s.version,
    artifactDigest: s.artifactDigest,
    task,
    label,
    ...(classes ? { classes } : {}),
    loadedAt: s.loadedAt,
  };
}

/** Builds a server and starts it; see `ModelServer`. */
export async function startModelServer(
  opts: ModelServerOptions & { port?: number; host?: string },
): Promise<{ server: ModelServer; url: string; port: number }> {
  const server = new ModelServer(opts);
  const { url, port } = await server.listen(opts.port ?? 8080, opts.host ?? "127.0.0.1");
  return { server, url, port };
}
