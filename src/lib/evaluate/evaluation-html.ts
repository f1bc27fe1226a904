/** A self-contained HTML page of an evaluation: candidate vs production, slices, evidence. */
import type { EvaluationReport } from "./evaluate-step.js";

const esc = (s: unknown) =>
  String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const num = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : "");
const row = (...cells: unknown[]) => `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;

const CSS =
  "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}" +
  "td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}";

export function renderEvaluationHtml(r: EvaluationReport): string {
  const names = Object.keys(r.candidate.metrics);
  const metricRows = names
    .map((m) => {
      const c = r.candidate.metrics[m];
      const p = r.production?.metrics[m];
      const d = p === undefined ? "" : num(c - p);
      return `<tr><td>${esc(m)}</td><td>${num(c)}</td><td>${p === undefined ? "—" : num(p)}</td><td>${d}</td></tr>`;
    })
    .join("");
  const slices = Object.entries(r.candidate.slices)
    .map(([col, vals]) => {
      const prod = new Map((r.production?.slices[col] ?? []).map((s) => [s.group, s.value]));
      return (
        `<h2>by ${esc(col)}</h2><table><tr><th>group</th><th>rows</th>` +
        `<th>candidate</th><th>production</th></tr>${vals
          .map((s) => row(esc(s.group), s.rows, num(s.value), num(prod.get(s.group))))
          .join("")}</table>`
      );
    })
    .join("");
  const boot = Object.entries(r.bootstrap ?? {})
    .map(([m, ci]) =>
      row(esc(m), num(ci.mean), `[${num(ci.low)}, ${num(ci.high)}]`, `${Math.round(ci.confidence * 100)}%`),
    )
    .join("");
  const production = r.production ? `version ${r.production.version}` : "none yet";
  const latency = `latency p50 ${num(r.latency?.p50Ms)} ms, p99 ${num(r.latency?.p99Ms)} ms`;
  return (
    `<!doctype html><html><head><meta ` +
    `charset="utf-8"><title>Evaluation on ${r.rows.toLocaleString("en-US")} held-out rows (${esc(r.task)})</title>
<style>${CSS}</style></head><body>
<h1>Evaluation on ${r.rows.toLocaleString("en-US")} held-out rows</h1>
<p>task ${esc(r.task)}; production ${production}; model size ${r.sizeBytes ?? "?"} bytes; ${latency}</p>
<table><tr><th>metric</th><th>candidate</th><th>production</th><th>difference</th></tr>${metricRows}</table>
${
  boot
    ? `<h2>paired bootstrap (candidate − ` +
      `production)</h2><table><tr><th>metric</th><th>mean</th><th>interval</th><th>confidence</th></tr>${boot}</table>`
    : ""
}
${slices}
</body></html>`
  );
}
