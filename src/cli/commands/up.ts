/**
 * `trainyard up`: the long-running parts of a deployment in one process (the daemon, which runs
 * the pipelines' triggers, the model server, and the web UI with its API), each from the list below. One SIGTERM/SIGINT
 * drains them all; a part that stops on its own stops the others, so nothing runs half-up.
 */
import type { Trainyard } from "../../engine/trainyard.js";
import { resolve } from "node:path";
import { has, intFlag, one, type ParsedArgs } from "../args.js";
import { dim } from "../format.js";
import { openHome } from "../open-home.js";
import { daemonOptionsFrom, startDaemon } from "./daemon.js";
import { listeningLine, serveOptionsFrom } from "./serve.js";
import { portFlag, uiListeningLines } from "./ui.js";

/** A started part: `stop()` asks it to drain; `finished` settles once it has. */
export interface RunningComponent {
  stop(): void | Promise<void>;
  finished: Promise<void>;
}

/**
 * One part of `up` (its options are declared in definitions/operations.ts). Options are read before anything starts.
 */
export interface UpComponent {
  name: string;
  /** Reads its options; undefined when the options leave it out (e.g. --no-ui). */
  prepare(args: ParsedArgs, log: (line: string) => void): ((ty: Trainyard) => Promise<RunningComponent>) | undefined;
}

const daemonComponent: UpComponent = {
  name: "daemon",
  prepare(args, log) {
    const opts = daemonOptionsFrom(args, log);
    const healthPort = intFlag(args, "health-port");
    return (ty) => startDaemon(ty, opts, healthPort);
  },
};

const serverComponent: UpComponent = {
  name: "serve",
  prepare(args, log) {
    const opts = serveOptionsFrom(args, log);
    return async (ty) => {
      const { serveHome } = await import("../../serve/serve-home.js");
      const { server, url } = await serveHome(ty, opts);
      process.stdout.write(listeningLine("trainyard up", server, url));
      let closing: Promise<void> | undefined;
      let closed!: () => void;
      const finished = new Promise<void>((resolve) => (closed = resolve));
      return {
        stop: () => (closing ??= server.close().then(closed)),
        finished,
      };
    };
  },
};

const uiComponent: UpComponent = {
  name: "ui",
  prepare(args) {
    if (has(args, "no-ui")) return undefined;
    const port = portFlag(one(args, "ui-port"));
    const modules = args.positionals.map((m) => resolve(m));
    return async (ty) => {
      const { startApiServer } = await import("../../api/server.js");
      const server = await startApiServer({ ty, modules, port, host: one(args, "host") });
      process.stdout.write(`${uiListeningLines("trainyard up", ty.home, server)}\n`);
      let closing: Promise<void> | undefined;
      let closed!: () => void;
      const finished = new Promise<void>((done) => (closed = done));
      return { stop: () => (closing ??= server.close().then(closed)), finished };
    };
  },
};

/** Started in this order, stopped together. */
export const UP_COMPONENTS: UpComponent[] = [daemonComponent, serverComponent, uiComponent];

export async function upCommand(args: ParsedArgs, components: UpComponent[] = UP_COMPONENTS): Promise<number> {
  // Without modules the daemon still launches runs queued by `trainyard trigger` or the API.
  const logFor = (name: string) => (line: string) =>
    process.stderr.write(`${dim(new Date().toISOString())} ${dim(`[${name}]`)} ${line}\n`);
  const starters = components.flatMap((c) => {
    const start = c.prepare(args, logFor(c.name));
    return start ? [{ name: c.name, start }] : [];
  });
  const log = logFor("up");
  const ty = await openHome(args);
  const running: Array<{ name: string; part: RunningComponent }> = [];
  let stopping = false;
  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: draining ${running.map((r) => r.name).join(" and ")}`);
    await Promise.all(running.map((r) => r.part.stop()));
  };
  try {
    for (const s of starters) running.push({ name: s.name, part: await s.start(ty) });
  } catch (err) {
    await stopAll(`could not start every part`);
    await Promise.allSettled(running.map((r) => r.part.finished));
    await ty.close();
    throw err;
  }
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) {
      log(`${sig} again: exiting now; running runs keep running and the next daemon adopts them`);
      process.exit(130);
    }
    void stopAll(sig);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  let failed = false;
  // A part that ends by itself (or fails) takes the others down with it.
  const ended = running.map(({ name, part }) =>
    part.finished.then(
      () => stopAll(`${name} stopped`),
      (err: unknown) => {
        failed = true;
        log(`${name} failed: ${(err as Error).message}`);
        return stopAll(`${name} failed`);
      },
    ),
  );
  await Promise.all(ended);
  await Promise.allSettled(running.map((r) => r.part.finished));
  await ty.close();
  log("stopped");
  return failed ? 1 : 0;
}
