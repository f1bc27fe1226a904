/** Small timing helpers shared by the engine benchmarks (not a benchmark itself). */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wall-clock seconds of a command, process start included; throws if it fails. */
export function timeCommand(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): number {
  return runTimed(cmd, args, opts).secs;
}

export function runTimed(
  cmd: string,
  args: readonly string[],
  opts: SpawnSyncOptions = {},
): { secs: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024, ...opts });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const tail = (output: unknown) => String(output).slice(-2000);
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}:\n${tail(r.stdout)}\n${tail(r.stderr)}`);
  }
  return { secs, stdout: String(r.stdout) };
}

export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "))
    .join("\n");
}

export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
