/**
 * Runs a shell block of the docs as a reader types it: one bash script, stopping at the first
 * failing command (set -e), in a folder that carries over from block to block (a `cd` sticks).
 * A line ending in `&` keeps running in the background until the block ends; `curl` waits for a
 * server that is still starting (as a reader would); `<run>` stands for the newest run's id.
 * A long-running command in the foreground (serve, ui, up, daemon, worker) that still runs after a
 * few seconds has started: the block passes and the command is stopped, as a reader would. One that
 * further commands follow runs as a reader runs it, in another terminal: in the background until the
 * block ends. Every process the block started ends with it. Blocks that install nothing run in a
 * private network namespace, so `serve --port 8080` cannot meet another program's port, unless they
 * need this machine's services (`network: "host"`).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ShellBlockResult {
  /** Passed: exited 0, or still serving at the deadline. */
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  /** The folder the block ended in (after its `cd`s). */
  cwd: string;
  /** Line of the block (1-based) that failed or was running at the deadline. */
  line?: number;
  /** True when the deadline came while a long-running command served. */
  serving?: boolean;
  timedOut?: boolean;
}

/** Commands that run until stopped; at a block's deadline such a line counts as started. */
const LONG_RUNNING = /\btrainyard(\.js)?\s+(serve|ui|up|daemon|worker)\b/;
/** A block that downloads packages needs the machine's network. */
const INSTALLS = /\bnpm\s+(i|install|ci)\b|\bnpx\s+-y\b/;

// The newest run's id, from the home of the folder the command runs in.
const LATEST_RUN =
  "__docs_latest_run() { npx --no-install trainyard runs --limit 1 --json | node -e " +
  `'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const j=JSON.parse(s);` +
  "const r=(Array.isArray(j)?j:j.runs)[0];process.stdout.write(String(r.id??r.runId))})'; }";

const PRELUDE = [
  "set -e",
  // set -e lets a failure early in an `a && b` list pass: a new line checks the status the last one left.
  "trap '__docs_s=$? __docs_n=$LINENO; " +
    "if [[ $BASH_COMMAND != __docs_exit* ]]; then __docs_check $__docs_s $__docs_n; fi' DEBUG",
  "__docs_check() {",
  '  if [ "$1" != 0 ] && [ -n "$__docs_line" ] && [ "$(($2 - 1))" != "$__docs_line" ]; then',
  '    echo "docs-test: line $__docs_line exited $1" >&2; __docs_reported=1; exit "$1"',
  "  fi",
  // After a SIGTERM bash reports line 1 (the prelude's); the block's own lines start at 2.
  '  if [ "$2" -gt 1 ]; then __docs_line=$(($2 - 1)); echo "$__docs_line" > "$DOCS_TEST_STATE/line"; fi',
  "}",
  "__docs_exit() {",
  '  local s=$?; pwd > "$DOCS_TEST_STATE/cwd"',
  '  if [ "$s" != 0 ] && [ -z "$__docs_reported" ]; then echo "docs-test: line $__docs_line exited $s" >&2; fi',
  "}",
  "trap __docs_exit EXIT",
  'curl() { command curl --retry-connrefused --retry 30 --retry-delay 1 --max-time 60 "$@"; }',
  LATEST_RUN,
].join("\n");

export interface ShellBlockOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Deadline of the block. */
  timeoutMs: number;
  /** How long a server in the foreground runs before it counts as started (default 5 s). */
  serveMs?: number;
  /** "host" runs the block beside the test's loopback services instead of in a private namespace. */
  network?: "private" | "host";
}

export async function runShellBlock(code: string, opts: ShellBlockOptions): Promise<ShellBlockResult> {
  const state = mkdtempSync(join(tmpdir(), "docs-shell-"));
  try {
    writeFileSync(join(state, "prelude.sh"), `${PRELUDE}\n`);
    const body = inOtherTerminals(code.replaceAll("<run>", '"$(__docs_latest_run)"'));
    // Line 1 loads the prelude, so line n + 1 of the script is line n of the block.
    writeFileSync(join(state, "block.sh"), `source "$DOCS_TEST_STATE/prelude.sh"\n${body}\n`);
    const script = `bash "${join(state, "block.sh")}"`;
    const argv =
      INSTALLS.test(code) || opts.network === "host"
        ? ["bash", "-c", script]
        : ["unshare", "-n", "bash", "-c", `ip link set lo up && ${script}`];
    const child = spawn(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env: { ...opts.env, DOCS_TEST_STATE: state },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const lines = body.split("\n");
    const lineFile = join(state, "line");
    const currentLine = () => (existsSync(lineFile) ? Number(readFileSync(lineFile, "utf8").trim()) : undefined);
    let timedOut = false;
    let serving = false;
    const stop = () => signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    // A server in the foreground serves until stopped: once it has run for a while, it started.
    let servingSince: { line: number; at: number } | undefined;
    const watch = setInterval(() => {
      const line = currentLine();
      const command = line === undefined ? "" : logicalLine(lines, line);
      if (line === undefined || !LONG_RUNNING.test(command) || command.trim().endsWith("&")) {
        servingSince = undefined;
      } else if (servingSince?.line !== line) servingSince = { line, at: Date.now() };
      else if (Date.now() - servingSince.at >= (opts.serveMs ?? 5000)) {
        serving = true;
        stop();
      }
    }, 250);
    const exit = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    clearTimeout(timer);
    clearInterval(watch);
    // The block's background servers live on in its process group: end them with it.
    signalGroup(child.pid, "SIGTERM");
    await groupEnded(child.pid, 300);
    signalGroup(child.pid, "SIGKILL");
    const scriptLine = currentLine();
    const failed = /docs-test: line (\d+) exited/.exec(stderr);
    const line = failed && !serving ? Number(failed[1]) : scriptLine;
    const cwdFile = join(state, "cwd");
    const cwd = existsSync(cwdFile) ? readFileSync(cwdFile, "utf8").trim() : opts.cwd;
    return {
      ok: serving || (!timedOut && exit === 0),
      code: exit,
      stdout,
      stderr,
      cwd,
      line: exit === 0 && !timedOut && !serving ? undefined : line,
      serving,
      timedOut,
    };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/**
 * Long-running commands that further commands follow, sent to the background (`&` before a trailing
 * comment): a reader starts them in other terminals and types the rest in this one.
 */
export function inOtherTerminals(code: string): string {
  const lines = code.split("\n");
  const isCommand = (l: string) => l.trim() !== "" && !l.trim().startsWith("#");
  return lines
    .map((line, i) => {
      const start = logicalLine(lines, i + 1);
      const later = lines.slice(i + 1).some(isCommand);
      if (line.endsWith("\\") || !LONG_RUNNING.test(start) || !later) return line;
      const m = /^(.*?\S)(\s+#.*)?$/.exec(line);
      if (!m || m[1].endsWith("&")) return line;
      return `${m[1]} &${m[2] ?? ""}`;
    })
    .join("\n");
}

/** The command a (1-based) line belongs to, joined over backslash continuations before it. */
function logicalLine(lines: string[], line: number): string {
  let start = line - 1;
  while (start > 0 && lines[start - 1]?.endsWith("\\")) start--;
  return lines.slice(start, line).join(" ");
}

/** Waits until no process of the group is left, or `graceMs` passed (the stragglers then get SIGKILL). */
async function groupEnded(pid: number | undefined, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (pid !== undefined && Date.now() < deadline) {
    try {
      process.kill(-pid, 0);
    } catch {
      return; // the group is gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
