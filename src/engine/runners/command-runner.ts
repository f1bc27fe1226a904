/**
 * Runs a command step: input artifacts are handed over as files (TRAINYARD_INPUT_<NAME>), the
 * program writes its outputs into TRAINYARD_OUT, and the declared outputs are collected from there.
 */
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { datasetMetaOfPath, isArtifactHandle, pendingHandle, type ArtifactHandle } from "../../core/artifacts.js";
import { TrainyardError } from "../../core/errors.js";
import type { CommandOutputSpec, StepDef } from "../../core/step.js";
import { withStats } from "../artifact-io.js";
import { LineSplitter, type LogSink } from "../log-lines.js";
import { MetricsFileTail } from "./metrics-file.js";
import type { RunningStepContext } from "../step-context.js";
import { checkedPlaceholder, valuesDir, valueVariables } from "./command-env.js";
import { expandForShell, expandRaw } from "./command-placeholders.js";
import {
  ATTEMPT_TOKEN_ENV,
  killByToken,
  newAttemptToken,
  recordGroup,
  retireAttempt,
  signalGroup,
} from "./process-supervisor.js";
import type { CommandHandlers, ShellLauncher, StartedCommand } from "./shell-launcher.js";

/** How long a stopped command has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;
/** How long output pipes are waited for after the command's group has ended. */
const PIPE_GRACE_MS = 100;

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
  const value = (key: string): string | undefined => {
    if (key === "out") return out;
    if (key === "workdir") return workdir;
    if (key.startsWith("inputs.")) return inputPaths[key.slice(7)];
    const v = ctx.params[key.slice(7)];
    return v === undefined ? undefined : checkedPlaceholder(def.id, key, typeof v === "string" ? v : JSON.stringify(v));
  };
  const shell = typeof raw === "string";
  // A shell string gets its placeholders as variables (never as code), argv items as they are.
  const expanded = shell ? expandForShell(raw, value, def.id) : undefined;
  const argv = expanded ? ["/bin/sh", "-c", expanded.text] : (raw as readonly string[]).map((a) => expandRaw(a, value));
  const token = newAttemptToken();
  const metrics = new MetricsFileTail(join(workdir, "metrics.jsonl"), ctx);
  const extra: NodeJS.ProcessEnv = {
    ...spec.env,
    ...expanded?.env,
    TRAINYARD_OUT: out,
    TRAINYARD_WORKDIR: workdir,
    TRAINYARD_METRICS: metrics.path,
    ...valueVariables(valuesDir(ctx.workRoot, ctx.runId), ctx.params, inputPaths),
    TRAINYARD_RUN_ID: ctx.runId,
    TRAINYARD_STEP: ctx.stepId,
    [ATTEMPT_TOKEN_ENV]: token,
  };
  for (const [name, path] of Object.entries(inputPaths))
    extra[`TRAINYARD_INPUT_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`] = path;
  launcher?.useRun(ctx.workRoot, ctx.runId);
  const track = (pgid: number) => recordGroup(ctx.workRoot, ctx.runId, pgid);

  const display = shell ? expandRaw(raw, value) : argv.join(" ");
  let stderrTail = (): string[] => [];
  metrics.start();
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    let started: StartedCommand | undefined;
    let unhook = () => undefined as void;
    let killer: NodeJS.Timeout | undefined;
    let group: number | undefined;
    const kill = () => {
      group = started?.group;
      started?.kill("SIGTERM");
      // Kept referenced: the process waits to SIGKILL a command that ignores SIGTERM.
      killer = setTimeout(() => {
        if (group === undefined || !signalGroup(group, "SIGKILL")) started?.kill("SIGKILL");
        // Processes that left the group (setsid) still carry the attempt's token.
        killByToken([token]);
      }, KILL_GRACE_MS);
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
        // A helper shell dies of SIGTERM at once; the group it leaves may not.
        if (killer && (group === undefined || !signalGroup(group, 0))) clearTimeout(killer);
        retireAttempt(token);
        onOut.end();
        onErr.end();
        resolve({ code, signal });
      },
      started: staged?.started,
    };
    started =
      (shell && launcher?.start(argv[2], extra, cwd, handlers, staged !== undefined, track)) ||
      spawnDirect(argv, { ...(launcher?.baseEnv ?? process.env), ...extra }, cwd, handlers, { token, track });
    unhook = ctx.cancel.onAbort(kill);
  }).finally(() => metrics.stop());
  if (ctx.cancel.aborted) throw ctx.cancel.reason ?? new Error("cancelled");
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const last = stderrTail()
      .filter((l) => l.trim())
      .slice(-5);
    throw new TrainyardError(
      "COMMAND_FAILED",
      `step "${def.id}": command \`${display}\` ${how}${last.length ? `:\n    ${last.join("\n    ")}` : ""}`,
      {
        step: def.id,
        exitCode: exit.code,
        hint: `see the full output with \`trainyard logs ${ctx.runId} ${def.id}\``,
      },
    );
  }
  return collectOutputs(def, out);
}

/**
 * A child of this process in its own session, so that its process group can be killed. Its
 * group ends when it exits: a background child holding its stdout does not keep the step open.
 */
function spawnDirect(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  handlers: CommandHandlers,
  opts: { token: string; track: (pgid: number) => () => void },
): StartedCommand {
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const forget = child.pid ? opts.track(child.pid) : undefined;
  child.stdout!.on("data", handlers.stdout);
  child.stderr!.on("data", handlers.stderr);
  child.on("error", handlers.error);
  child.on("exit", () => {
    signalGroup(child.pid!, "SIGKILL");
    // A process that left the group (setsid) may hold the pipes: it is killed, then not waited for.
    setTimeout(() => {
      if (child.stdout!.closed && child.stderr!.closed) return;
      killByToken([opts.token]);
      setTimeout(() => (child.stdout!.destroy(), child.stderr!.destroy()), PIPE_GRACE_MS);
    }, PIPE_GRACE_MS);
  });
  child.on("close", (code, signal) => {
    forget?.();
    handlers.close(code, signal);
  });
  return {
    group: child.pid,
    kill(signal) {
      if (child.pid) signalGroup(child.pid, signal);
    },
  };
}

const PLAIN_NAME = /^[\w-][\w.-]*$/;

function collectOutputs(def: StepDef, out: string): Record<string, ArtifactHandle> {
  const result: Record<string, ArtifactHandle> = {};
  for (const [name, spec] of Object.entries(def.command!.outputs)) {
    const { path, kind } = normalize(name, spec);
    // A plain file name (the usual case) needs none of path.join's normalizing.
    const plain = PLAIN_NAME.test(path);
    if (!plain) checkOutputPath(def.id, name, path);
    let full = plain ? `${out}/${path}` : join(out, path);
    let st = lstatSync(full, { throwIfNoEntry: false });
    if (st && (!plain || st.isSymbolicLink())) {
      // A link inside $TRAINYARD_OUT is collected as what it leads to.
      full = checkInside(def.id, name, path, full, out);
      st = statSync(full, { throwIfNoEntry: false });
    }
    if (!st) {
      const found = readdirSync(out);
      throw new TrainyardError(
        "OUTPUT_INVALID",
        `step "${def.id}": the command did not write its output "${name}" (${path}) into TRAINYARD_OUT`,
        {
          step: def.id,
          file: full,
          hint: found.length
            ? `it wrote: ${found.slice(0, 10).join(", ")}; write ${path} into $TRAINYARD_OUT`
            : `write ${path} into the directory $TRAINYARD_OUT`,
        },
      );
    }
    result[name] = withStats(pendingHandle(kind, full, kind === "dataset" ? datasetMetaOfPath(path) : {}), st);
  }
  return result;
}

/** An output is a path inside $TRAINYARD_OUT: never absolute, never through "..". */
function checkOutputPath(step: string, output: string, path: string): void {
  if (!isAbsolute(path) && !path.split(/[\\/]/).includes("..")) return;
  throw new TrainyardError(
    "OUTPUT_INVALID",
    `step "${step}": output "${output}" has the path "${path}", which leaves TRAINYARD_OUT`,
    {
      step,
      output,
      hint: 'declare output paths relative to $TRAINYARD_OUT, without ".." (e.g. "model.onnx" or "reports/eval.json")',
    },
  );
}

/** Where an output leads; a symlink (or a linked directory on the way) must not lead outside. */
function checkInside(step: string, output: string, path: string, full: string, out: string): string {
  let target: string;
  try {
    target = realpathSync(full);
  } catch {
    return full; // a dangling link: reported as not written
  }
  const root = realpathSync(out);
  if (target === root || target.startsWith(`${root}/`)) return target === root ? full : target;
  throw new TrainyardError(
    "OUTPUT_INVALID",
    `step "${step}": output "${output}" (${path}) leads outside TRAINYARD_OUT, to ${target}`,
    {
      step,
      output,
      file: full,
      hint: `write the output itself into $TRAINYARD_OUT (copy it there rather than linking to ${target})`,
    },
  );
}

function normalize(name: string, spec: CommandOutputSpec): { path: string; kind: ArtifactHandle["$artifact"] } {
  if (typeof spec === "string")
    return { path: name === "out" && spec === "directory" ? "." : name, kind: spec === "json" ? "file" : spec };
  return { path: spec.path, kind: spec.kind === "json" || !spec.kind ? "file" : spec.kind };
}
