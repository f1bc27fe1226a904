/**
 * Run progress on the terminal: a live table redrawn in place on a TTY (status, duration, cache
 * hits, map items), plain lines otherwise, nothing with --quiet or --json.
 */
import type { RunEvent } from "../engine/events.js";
import { bold, cyan, dim, duration, red, statusIcon, yellow } from "./format.js";

interface StepView {
  status: string;
  cached: boolean;
  startedAt?: number;
  durationMs?: number;
  items?: { total: number; done: number; cached: number };
  attempts: number;
  note?: string;
}

export class Progress {
  private readonly steps = new Map<string, StepView>();
  private runId = "";
  private pipeline = "";
  private lastLines = 0;
  private timer?: NodeJS.Timeout;
  private readonly startedAt = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly mode: "live" | "plain" | "quiet",
  ) {}

  static forTerminal(quiet: boolean): Progress {
    return new Progress(process.stderr, quiet ? "quiet" : process.stderr.isTTY ? "live" : "plain");
  }

  onEvent = (e: RunEvent): void => {
    if (this.mode === "quiet") return;
    switch (e.type) {
      case "run-started":
        this.runId = e.runId;
        this.pipeline = e.pipeline;
        for (const s of e.steps) this.steps.set(s, { status: "pending", cached: false, attempts: 0 });
        if (this.mode === "plain") this.out.write(`run ${e.runId} of ${e.pipeline} (${e.steps.length} steps)\n`);
        else this.timer = setInterval(() => this.render(), 100);
        break;
      case "map-expanded": {
        const v = this.steps.get(e.stepId)!;
        v.items = { total: e.items, done: 0, cached: 0 };
        v.status = "running";
        v.startedAt ??= Date.now();
        break;
      }
      case "step-started": {
        const v = this.steps.get(e.stepId)!;
        if (e.itemIndex < 0) (v.status = "running"), (v.startedAt = Date.now()), (v.attempts = e.attempt);
        break;
      }
      case "step-retry":
        if (this.mode === "plain") {
          const item = e.itemIndex >= 0 ? `[${e.itemIndex}]` : "";
          const retry = `retrying in ${duration(e.delayMs)}`;
          this.out.write(
            `${yellow("↻")} ${e.stepId}${item} attempt ${e.attempt} failed: ${e.error.message}; ${retry}\n`,
          );
        } else this.steps.get(e.stepId)!.note = `retry after: ${e.error.message.split("\n")[0]}`;
        break;
      case "step-finished": {
        const v = this.steps.get(e.stepId)!;
        if (e.itemIndex >= 0) {
          if (v.items) (v.items.done += 1), (v.items.cached += e.cached ? 1 : 0);
          if (e.status === "failed" && this.mode === "plain")
            this.out.write(`${statusIcon("failed")} ${e.stepId}[${e.itemIndex}] ${red(e.error?.message ?? "")}\n`);
          break;
        }
        v.status = e.status;
        v.cached = e.cached;
        v.durationMs = e.durationMs;
        v.attempts = e.attempts;
        v.note = e.error ? e.error.message.split("\n")[0] : e.reason;
        if (this.mode === "plain") this.out.write(`${this.line(e.stepId, v)}\n`);
        break;
      }
      case "warning":
        // The live display redraws itself: its warnings are printed below it at the end.
        if (this.mode === "plain") this.out.write(`${yellow("!")} ${e.message}\n`);
        else this.warnings.push(e.message);
        break;
      case "log":
      case "metric":
        break;
    }
  };

  private line(id: string, v: StepView): string {
    const time =
      v.status === "running" && v.startedAt
        ? duration(Date.now() - v.startedAt)
        : v.cached
          ? ""
          : duration(v.durationMs);
    const items = v.items
      ? dim(` ${v.items.done}/${v.items.total} items${v.items.cached ? `, ${v.items.cached} cached` : ""}`)
      : "";
    const cached = v.cached ? cyan(" cached") : "";
    const attempts = v.attempts > 1 ? yellow(` (${v.attempts} attempts)`) : "";
    const note = v.note && v.status !== "succeeded" ? ` ${v.status === "failed" ? red(v.note) : dim(v.note)}` : "";
    return `${statusIcon(v.status, v.cached)} ${id}${cached}${items} ${dim(time)}${attempts}${note}`;
  }

  private render(final = false): void {
    if (this.stopped && !final) return;
    const lines: string[] = [
      bold(`${this.pipeline}`) + dim(` run ${this.runId} ${duration(Date.now() - this.startedAt)}`),
    ];
    const entries = [...this.steps.entries()];
    if (entries.length <= 30) for (const [id, v] of entries) lines.push(`  ${this.line(id, v)}`);
    else {
      const count = (s: string) => entries.filter(([, v]) => v.status === s).length;
      const cached = entries.filter(([, v]) => v.cached).length;
      const others = ["running", "pending", "failed", "skipped"].map((s) => `${count(s)} ${s}`);
      lines.push(`  ${count("succeeded")} succeeded (${cached} cached), ${others.join(", ")}`);
      for (const [id, v] of entries
        .filter(([, v]) => v.status === "running" || v.status === "failed")
        .slice(0, final ? 20 : 10))
        lines.push(`  ${this.line(id, v)}`);
    }
    const clear = this.lastLines ? `\x1b[${this.lastLines}A\x1b[J` : "";
    this.out.write(clear + lines.join("\n") + "\n");
    this.lastLines = lines.length;
  }

  private stopped = false;
  private readonly warnings: string[] = [];

  /** Draws the final state once; later calls do nothing (output may follow below it). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.mode === "live" && this.steps.size) this.render(true);
    for (const w of this.warnings.splice(0)) this.out.write(`${yellow("!")} ${w}\n`);
  }
}
