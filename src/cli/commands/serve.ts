/** `trainyard serve`: the model server in the foreground until SIGINT/SIGTERM. */
import { SERVE_TIMEOUTS, type ModelServer } from "../../serve/model-server.js";
import { PREDICTION_LOG_RETENTION } from "../../serve/prediction-log-retention.js";
import { serveHome, type ServeHomeOptions } from "../../serve/serve-home.js";
import type { ServeTarget } from "../../serve/served-models.js";
import { parseModelRef } from "../../core/model-ref.js";
import { one, usage, type ParsedArgs } from "../args.js";
import { dim } from "../format.js";
import { openHome } from "../open-home.js";

/** Server options from parsed flags (everything but positionals). */
export function serveOptionsFrom(args: ParsedArgs, log: (message: string) => void): ServeHomeOptions {
  const port = numberFlag(args, "port", 8080, (n) => Number.isInteger(n) && n >= 0 && n < 65536, "a port 0..65535");
  const logSample = numberFlag(args, "log-sample", 0.01, (n) => n >= 0 && n <= 1, "a fraction 0..1");
  const maxBodyBytes = byteSizeFlag(args, "max-body", 1024 * 1024);
  const ms = (key: string, fallback: number, zeroOk = false) =>
    numberFlag(args, key, fallback, (n) => Number.isInteger(n) && (n > 0 || (zeroOk && n === 0)), "whole milliseconds");
  const timeouts = {
    headersTimeoutMs: ms("headers-timeout-ms", SERVE_TIMEOUTS.headersTimeoutMs),
    requestTimeoutMs: ms("request-timeout-ms", SERVE_TIMEOUTS.requestTimeoutMs),
    keepAliveTimeoutMs: ms("keep-alive-timeout-ms", SERVE_TIMEOUTS.keepAliveTimeoutMs),
    idleTimeoutMs: ms("idle-timeout-ms", SERVE_TIMEOUTS.idleTimeoutMs, true),
  };
  const { maxAgeDays, maxRows } = PREDICTION_LOG_RETENTION;
  const logRetention = {
    maxAgeDays: numberFlag(args, "log-max-age-days", maxAgeDays, (n) => n >= 0, "a number of days (0: no age limit)"),
    maxRows: numberFlag(args, "log-max-rows", maxRows, (n) => Number.isInteger(n) && n >= 0, "rows (0: no limit)"),
  };
  // The environment first in the docs: a flag's value is visible to every user in the process list.
  const token = one(args, "token") ?? (process.env.TRAINYARD_SERVE_TOKEN || undefined);
  const targets: ServeTarget[] = (args.flags.get("model") ?? []).map((m) => {
    const r = parseModelRef(m);
    if (typeof r.ref === "number") throw usage(`--model ${m}: serve an alias (name@production), not a fixed version`);
    return { model: r.model, alias: r.ref };
  });
  const host = one(args, "host") ?? "127.0.0.1";
  const rowKey = one(args, "row-key");
  return { port, host, logSample, maxBodyBytes, targets, onEvent: log, token, logRetention, rowKey, ...timeouts };
}

/** The line a started server prints: where it listens and what it serves. */
export function listeningLine(command: string, server: ModelServer, url: string): string {
  const served = server.models.list();
  const none = server.models.registeredModels() === 0 ? "none: the registry has no models yet" : "none yet";
  const list = served.map((s) => `${s.model}/${s.alias}@${s.version}`).join(", ") || none;
  const lines = [`${command}: listening on ${url} (${served.length} alias${served.length === 1 ? "" : "es"}: ${list})`];
  for (const [key, why] of Object.entries(server.models.readiness().errors)) lines.push(`not serving ${key}: ${why}`);
  return `${lines.join("\n")}\n`;
}

export async function serveCommand(args: ParsedArgs): Promise<number> {
  if (args.positionals.length)
    throw usage(`trainyard serve takes no positional arguments (got "${args.positionals[0]}")`);
  const log = (message: string) => process.stderr.write(`${dim(new Date().toISOString())} ${message}\n`);
  const options = serveOptionsFrom(args, log);
  const ty = await openHome(args);
  const { server, url } = await serveHome(ty, options).catch(async (err: unknown) => {
    await ty.close();
    throw err;
  });
  process.stdout.write(listeningLine("trainyard serve", server, url));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  log("shutting down: finishing in-flight requests");
  await server.close();
  await ty.close();
  return 0;
}

/** `--max-body 4MiB`: bytes, or a number with B, KB/KiB, MB/MiB (powers of 1024). */
function byteSizeFlag(args: ParsedArgs, key: string, fallback: number): number {
  const v = one(args, key);
  if (v === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(v.trim());
  const units = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 };
  const scale = units[(m?.[2] ?? "b").toLowerCase() as keyof typeof units];
  const bytes = m ? Math.floor(Number(m[1]) * scale) : Number.NaN;
  if (!(bytes > 0)) throw usage(`--${key} expects a size such as 1048576, 512KiB or 4MiB, got "${v}"`);
  return bytes;
}

function numberFlag(args: ParsedArgs, key: string, fallback: number, ok: (n: number) => boolean, what: string): number {
  const v = one(args, key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || !ok(n)) throw usage(`--${key} expects ${what}, got "${v}"`);
  return n;
}
