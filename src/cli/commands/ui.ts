/**
 * `trainyard ui [pipeline.ts ...] [--port 8321] [--host 127.0.0.1] [--token T] [--read-only]`:
 * the web UI and the HTTP API of this home. Beyond loopback a token is required: the one given,
 * $TRAINYARD_API_TOKEN, or one generated on first start and kept in <home>/api-token.
 */
import { resolve } from "node:path";
import { startApiServer } from "../../api/server.js";
import { has, one, parseArgs, usage } from "../args.js";
import { bold, dim, yellow } from "../format.js";
import { openHome } from "../open-home.js";

const SPEC = { values: ["port", "host", "token", "home", "max-body"], booleans: ["read-only", "no-launch"] } as const;

export async function uiCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  const port = portFlag(one(args, "port"));
  const modules = args.positionals.map((m) => resolve(m));
  const ty = await openHome(args, { module: modules[0] });
  const server = await startApiServer({
    ty,
    modules,
    port,
    host: one(args, "host"),
    token: one(args, "token"),
    readOnly: has(args, "read-only"),
    launchWithoutDaemon: !has(args, "no-launch"),
    maxBodyBytes: one(args, "max-body") === undefined ? undefined : Number(one(args, "max-body")),
  });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const token = server.token;
  out(`${bold("trainyard ui")} serving ${ty.home} at ${server.url}/  ${dim(`(API: ${server.url}/api/v1)`)}`);
  if (token) {
    const kept = token.file ? ` (kept in ${token.file})` : "";
    const verb = token.source === "generated" ? "generated a token" : `token from ${token.source}`;
    out(`${yellow(verb)}${kept}: open ${server.url}/?token=${token.value}`);
  }
  if (has(args, "read-only")) out(dim("read-only: every change is refused"));
  const stop = new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await stop;
  await server.close();
  await ty.close();
  return 0;
}

function portFlag(v: string | undefined): number {
  if (v === undefined) return 8321;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw usage(`--port expects a port number (0 picks a free one), got "${v}"`);
  return n;
}
