/** Terminal formatting shared by the commands. */
export const color = {
  enabled: process.stdout.isTTY === true && !process.env.NO_COLOR,
};

const wrap = (code: string) => (s: string) => (color.enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = wrap("32");
export const red = wrap("31");
export const yellow = wrap("33");
export const cyan = wrap("36");
export const dim = wrap("2");
export const bold = wrap("1");

export function duration(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(1)} ${units[i]}`;
}

export function statusIcon(status: string, cached = false): string {
  if (status === "succeeded") return cached ? cyan("◎") : green("✔");
  if (status === "failed" || status === "rejected") return red("✘");
  if (status === "skipped") return dim("↷");
  if (status === "cancelled" || status === "interrupted") return yellow("■");
  if (status === "running") return yellow("▶");
  return dim("·");
}

export function table(rows: string[][]): string {
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, strip(c).length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i] - strip(c).length))).join("  "))
    .join("\n");
}

export function when(ts: number | undefined): string {
  return ts ? new Date(ts).toISOString().replace("T", " ").slice(0, 19) : "";
}
