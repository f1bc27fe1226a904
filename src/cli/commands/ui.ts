/**
 * `trainyard ui [pipeline.ts ...] [--port 8321] [--host 127.0.0.1] [--token T] [--read-only]`:
 * the web UI and the HTTP API of this home. Beyond loopback a token is required: the one given,
 * $TRAINYARD_API_TOKEN, or one generated on first start and kept in <home>/api-token.
 */
import { resolve } from "node:path";
import { startApiServer, type ApiServer } from "../../api/server.js";
import { has, one, usage, type ParsedArgs } from "../args.js";
import { bold, dim, yellow } from "../format.js";
import { openHome } from "../open-home.js";

export async function uiCommand(args: ParsedArgs): Promise<number> {
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
  out(uiListeningLines("trainyard ui", ty.home, server));
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

/** What a started UI prints: where it listens, and the token to open it with when one is required. */
export function uiListeningLines(command: string, home: string, server: ApiServer): string {
  const lines = [`${bold(command)} serving ${home} at ${server.url}/  ${dim(`(API: ${server.url}/api/v1)`)}`];
  const token = server.token;
  if (token) {
    const kept = token.file ? ` (kept in ${token.file})` : "";
    const verb = token.source === "generated" ? "generated a token" : `token from ${token.source}`;
    lines.push(`${yellow(verb)}${kept}: open ${server.url}/?token=${token.value}`);
  }
  return lines.join("\n");
}

export function portFlag(v: string | undefined): number {
  if (v === undefined) return 8321;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw usage(`--port expects a port number (0 picks a free one), got "${v}"`);
  return n;
}
