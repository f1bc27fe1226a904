/**
 * Runs a command step: input artifacts are handed over as files (TRAINYARD_INPUT_<NAME>), the
 * program writes its outputs into TRAINYARD_OUT, and the declared outputs are collected from there.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isArtifactHandle, pendingHandle, type ArtifactHandle } from "../../core/artifacts.js";
import { TrainyardError } from "../../core/errors.js";
import type { CommandOutputSpec, StepDef } from "../../core/step.js";
import { withStats } from "../artifact-io.js";
import { LineSplitter, type LogSink } from "../log-lines.js";
import type { RunningStepContext } from "../step-context.js";
import type { CommandHandlers, ShellLauncher, StartedCommand } from "./shell-launcher.js";

export async function runCommand(
  def: StepDef,
  ctx: RunningStepContext,
  inputs: Record<string, unknown>,
  cwd: string,
  onLog: LogSink,
  launcher?: ShellLauncher,
  /** Given when the command may wait for a helper (see ShellLauncher.start); told when it starts. */
  staged?: { started(): void },
): Promise<unknown> {
  const spec = def.command!;
  const workdir = ctx.workdir;
  const out = ctx.outdir;
  const inputPaths: Record<string, string> = {};
  for (const [name, value] of Object.entries(inputs)) {
    if (isArtifactHandle(value)) inputPaths[name] = value.path;
    else {
      mkdirSync(join(workdir, "inputs"), { recursive: true });
      const file = join(workdir, "inputs", `${name}.json`);
      writeFileSync(file, JSON.stringify(value));
      inputPaths[name] = file;
    }
  }
  const raw = typeof spec.run === "function" ? spec.run({ params: ctx.params, out, workdir }, inputPaths) : spec.run;
  const expand = (s: string) =>
    !s.includes("{") ? s : s.replace(/\{(out|workdir|inputs\.[A-Za-z0-9_-]+|params\.[A-Za-z0-9_-]+)\}/g, (m, key: string) => {
      if (key === "out") return out;
      if (key === "workdir") return workdir;
      if (key.startsWith("inputs.")) return inputPaths[key.slice(7)] ?? m;
      const v = ctx.params[key.slice(7)];
      return v === undefined ? m : typeof v === "string" ? v : JSON.stringify(v);
    });
  const shell = typeof raw === "string";
  const argv = shell ? ["/bin/sh", "-c", expand(raw)] : (raw as readonly string[]).map(expand);
  const extra: NodeJS.ProcessEnv = {
    ...spec.env,
    TRAINYARD_OUT: out,
    TRAINYARD_WORKDIR: workdir,
    TRAINYARD_PARAMS: JSON.stringify(ctx.params),
    TRAINYARD_INPUTS: JSON.stringify(inputPaths),
    TRAINYARD_RUN_ID: ctx.runId,
    TRAINYARD_STEP: ctx.stepId,
  };
  for (const [name, path] of Object.entries(inputPaths)) extra[`TRAINYARD_INPUT_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`] = path;

  const display = shell ? argv[2] : argv.join(" ");
  let stderrTail = (): string[] => [];
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    let started: StartedCommand | undefined;
    let unhook = () => undefined as void;
    const kill = () => {
      started?.kill("SIGTERM");
      setTimeout(() => started?.kill("SIGKILL"), 2000).unref();
    };
    const onOut = new LineSplitter("stdout", onLog);
    const onErr = new LineSplitter("stderr", onLog);
    stderrTail = () => onErr.recent();
    const handlers: CommandHandlers = {
      stdout: (chunk) => onOut.push(chunk),
      stderr: (chunk) => onErr.push(chunk),
      error: (err) =>
        reject(
          new TrainyardError("COMMAND_FAILED", `step "${def.id}": could not start \`${argv[0]}\`: ${err.message}`, {
            step: def.id,
            cause: err,
            hint: `check that ${argv[0]} is installed and on PATH`,
          }),
        ),
      close: (code, signal) => {
        unhook();
        onOut.end();
        onErr.end();
        resolve({ code, signal });
      },
      started: staged?.started,
    };
    started = (shell && launcher?.start(argv[2], extra, cwd, handlers, staged !== undefined)) || spawnDirect(argv, { ...(launcher?.baseEnv ?? process.env), ...extra }, cwd, handlers);
    unhook = ctx.cancel.onAbort(kill);
  });
  if (ctx.cancel.aborted) throw ctx.cancel.reason ?? new Error("cancelled");
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const last = stderrTail().filter((l) => l.trim()).slice(-5);
    throw new TrainyardError("COMMAND_FAILED", `step "${def.id}": command \`${display}\` ${how}${last.length ? `:\n    ${last.join("\n    ")}` : ""}`, {
      step: def.id,
      exitCode: exit.code,
      hint: `see the full output with \`trainyard logs ${ctx.runId} ${def.id}\``,
    });
  }
  return collectOutputs(def, out);
}

/** A child of this process in its own session, so that its process group can be killed. */
function spawnDirect(argv: string[], env: NodeJS.ProcessEnv, cwd: string, handlers: CommandHandlers): StartedCommand {
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout!.on("data", handlers.stdout);
  child.stderr!.on("data", handlers.stderr);
  child.on("error", handlers.error);
  child.on("close", handlers.close);
  return {
    kill(signal) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
    },
  };
}

const PLAIN_NAME = /^[\w-][\w.-]*$/;

function collectOutputs(def: StepDef, out: string): Record<string, ArtifactHandle> {
  const result: Record<string, ArtifactHandle> = {};
  for (const [name, spec] of Object.entries(def.command!.outputs)) {
    const { path, kind } = normalize(name, spec);
    // A plain file name (the usual case) needs none of path.join's normalizing.
    const full = PLAIN_NAME.test(path) ? `${out}/${path}` : join(out, path);
    const st = statSync(full, { throwIfNoEntry: false });
    if (!st) {
      const found = readdirSync(out);
      throw new TrainyardError("OUTPUT_INVALID", `step "${def.id}": the command did not write its output "${name}" (${path}) into TRAINYARD_OUT`, {
        step: def.id,
        file: full,
        hint: found.length ? `it wrote: ${found.slice(0, 10).join(", ")}; write ${path} into $TRAINYARD_OUT` : `write ${path} into the directory $TRAINYARD_OUT`,
      });
    }
    result[name] = withStats(pendingHandle(kind, full, kind === "dataset" ? { format: path.endsWith(".csv") ? "csv" : "parquet" } : {}), st);
  }
  return result;
}

function normalize(name: string, spec: CommandOutputSpec): { path: string; kind: ArtifactHandle["$artifact"] } {
  if (typeof spec === "string") return { path: name === "out" && spec === "directory" ? "." : name, kind: spec === "json" ? "file" : spec };
  return { path: spec.path, kind: spec.kind === "json" || !spec.kind ? "file" : spec.kind };
}
