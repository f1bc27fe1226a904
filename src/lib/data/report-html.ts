/**
 * Self-contained HTML pages for profiles, drift reports and contract reports: inline CSS,
 * inline SVG charts (reference vs current bars), coloured pass/warn/fail verdicts, no external
 * assets — a page can be stored as an artifact and opened anywhere.
 */
import type { ContractReport } from "./contract-check.js";
import type { DriftChart, DriftReport } from "./drift.js";
import type { Verdict } from "./drift-config.js";
import type { ColumnProfile, Profile } from "./profile.js";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.muted{color:#656d76}
table{border-collapse:collapse;margin:8px 0 16px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f6f8fa}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;color:#fff}
.pass{background:#1a7f37}.warn{background:#bf8700}.fail{background:#cf222e}
.card{border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:12px 0}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
code{background:#f6f8fa;padding:0 4px;border-radius:4px}
`;

const REF_COLOR = "#8c959f";
const CUR_COLOR = "#0969da";

export function escapeHtml(text: unknown): string {
  return String(text ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

function page(title: string, body: string): string {
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta ` +
    `name="viewport" ` +
    `content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>${body}</body></html>\n`
  );
}

function badge(v: Verdict): string {
  return `<span class="badge ${v}">${v.toUpperCase()}</span>`;
}

function fmt(x: unknown): string {
  if (x === null || x === undefined) return "—";
  if (typeof x === "number") {
    if (!Number.isFinite(x)) return String(x);
    if (Number.isInteger(x)) return x.toLocaleString("en-US");
    const a = Math.abs(x);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : x.toFixed(4);
  }
  if (typeof x === "bigint") return x.toLocaleString("en-US");
  return escapeHtml(x);
}

/** A page with one table of query rows, its columns in the order of the first row. */
export function renderTableHtml(title: string, rows: readonly Record<string, unknown>[], note?: string): string {
  const columns = Object.keys(rows[0] ?? {});
  const head = `<tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td>${fmt(r[c])}</td>`).join("")}</tr>`).join("");
  const intro = note ? `<p class="muted">${escapeHtml(note)}</p>` : "";
  return page(title, `<h1>${escapeHtml(title)}</h1>${intro}<table>${head}${body}</table>`);
}

/** Grouped bars: one pair (reference, current) per bin or category, as shares of each side. */
export function barsSvg(
  labels: string[],
  reference: number[] | undefined,
  current: number[],
  opts: { width?: number; height?: number } = {},
): string {
  const width = opts.width ?? 560;
  const height = opts.height ?? 140;
  const share = (v: number[]) => {
    const s = v.reduce((a, b) => a + b, 0);
    return v.map((x) => (s > 0 ? x / s : 0));
  };
  const cur = share(current);
  const ref = reference ? share(reference) : undefined;
  const max = Math.max(1e-12, ...cur, ...(ref ?? []));
  const n = Math.max(1, current.length);
  const slot = (width - 20) / n;
  const bar = ref ? slot * 0.42 : slot * 0.8;
  const plot = height - 22;
  const percent = (s: number) => `${(s * 100).toFixed(2)}%`;
  /** One bar of `share` (of the largest share) at `x`, with a tooltip. */
  const rect = (x: number, share: number, fill: string, tooltip: string) => {
    const h = (share / max) * plot;
    const box = `x="${x.toFixed(1)}" y="${(plot - h).toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}"`;
    return `<rect ${box} fill="${fill}"><title>${tooltip}</title></rect>`;
  };
  const rects: string[] = [];
  for (let i = 0; i < current.length; i++) {
    const x0 = 10 + i * slot + slot * 0.08;
    const title = escapeHtml(labels[i] ?? String(i));
    if (ref) rects.push(rect(x0, ref[i], REF_COLOR, `${title} reference ${percent(ref[i])}`));
    const x1 = ref ? x0 + bar : x0;
    rects.push(rect(x1, cur[i], CUR_COLOR, `${title} ${ref ? "current " : ""}${percent(cur[i])}`));
  }
  const first = escapeHtml(labels[0] ?? "");
  const last = escapeHtml(labels[labels.length - 1] ?? "");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" ` +
    `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">` +
    `<line x1="10" y1="${plot}" x2="${width - 10}" y2="${plot}" stroke="#d0d7de"/>${rects.join("")}` +
    `<text x="10" y="${height - 6}" font-size="10" ` +
    `fill="#656d76">${first}</text><text x="${width - 10}" y="${height - 6}" font-size="10" fill="#656d76" ` +
    `text-anchor="end">${last}</text></svg>`
  );
}

function legend(withReference: boolean): string {
  return (
    `<div class="legend ` +
    `muted">${withReference ? `<span ` + `style="background:${REF_COLOR}"></span>reference` : ""}<span ` +
    `style="background:${CUR_COLOR}"></span>${withReference ? "current" : "share of rows"}</div>`
  );
}

function histogramLabels(edges: number[]): string[] {
  return edges.slice(0, -1).map((e, i) => `[${fmt(e)}, ${fmt(edges[i + 1])})`);
}

function profileColumnCard(c: ColumnProfile): string {
  const rows: [string, unknown][] = [
    ["type", c.type],
    ["count", c.count],
    ["nulls", c.nullCount],
    ["distinct", c.distinctCount],
    ["min", c.min],
    ["max", c.max],
  ];
  if (c.kind === "numeric") {
    rows.push(["mean", c.mean], ["std", c.std], ["non-finite", c.nonFiniteCount]);
    for (const [k, v] of Object.entries(c.quantiles ?? {})) rows.push([k, v]);
  }
  let chart = "";
  if (c.histogram) chart = barsSvg(histogramLabels(c.histogram.edges), undefined, c.histogram.counts) + legend(false);
  if (c.topK?.values.length) {
    const labels = c.topK.values.map((v) => v.value);
    const counts = c.topK.values.map((v) => v.count);
    if (c.topK.otherCount > 0) {
      labels.push(`(other ${c.topK.otherDistinct})`);
      counts.push(c.topK.otherCount);
    }
    const countRows = labels.map((l, i) => `<tr><td>${escapeHtml(l)}</td><td>${fmt(counts[i])}</td></tr>`).join("");
    chart =
      barsSvg(labels, undefined, counts) +
      legend(false) +
      `<table><tr><th>value` +
      `</th><th>count` +
      `</th></tr>${countRows}</table>`;
  }
  const statRows = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${fmt(v)}</td></tr>`).join("");
  const table = `<table>${statRows}</table>`;
  return (
    `<div ` +
    `class="card"><h2>${escapeHtml(c.name)} <span class="muted">${escapeHtml(c.kind)}</span></h2>${table}${chart}</div>`
  );
}

/** `subject` names what was profiled in the title (a step), instead of the stored file's path. */
export function renderProfileHtml(profile: Profile, subject?: string): string {
  const schemaRows = profile.schema
    .map((c) => `<tr><td>${escapeHtml(c.name)}</td><td><code>${escapeHtml(c.type)}</code></td></tr>`)
    .join("");
  const body =
    `<h1>Profile of ${escapeHtml(profile.source)}</h1><p ` +
    `class="muted">${fmt(profile.rowCount)} rows, ${profile.schema.length} columns</p>` +
    `<table><tr><th>column` +
    `</th><th>type` +
    `</th></tr>${schemaRows}</table>` +
    profile.columns.map(profileColumnCard).join("");
  const what = subject ?? profile.source;
  return page(`Profile of ${what}: ${fmt(profile.rowCount)} rows, ${profile.schema.length} columns`, body);
}

function driftChart(chart: DriftChart | undefined): string {
  if (!chart) return "";
  const labels = chart.kind === "histogram" && chart.edges ? histogramLabels(chart.edges) : (chart.labels ?? []);
  return barsSvg(labels, chart.reference, chart.current) + legend(true);
}

export function renderDriftHtml(report: DriftReport, subject?: string): string {
  const s = report.schema;
  const schemaRows = [
    ...s.added.map(
      (c) => `<tr><td>${escapeHtml(c.name)}</td><td>added</td><td><code>${escapeHtml(c.type)}</code></td></tr>`,
    ),
    ...s.removed.map(
      (c) => `<tr><td>${escapeHtml(c.name)}</td><td>removed</td><td><code>${escapeHtml(c.type)}</code></td></tr>`,
    ),
    ...s.retyped.map(
      (c) =>
        `<tr><td>${escapeHtml(c.name)}</td><td>retyped` +
        `</td><td><code>${escapeHtml(c.from)}</code> → <code>${escapeHtml(c.to)}</code></td></tr>`,
    ),
  ];
  const summary =
    `<table><tr><th>column</th>` +
    `<th>kind</th>` +
    `<th>verdict</th></tr>${report.columns
      .map(
        (c) =>
          `<tr><td><a href="#col-${escapeHtml(c.name)}">${escapeHtml(c.name)}</a></td>` +
          `<td>${c.kind}</td><td>${badge(c.verdict)}</td></tr>`,
      )
      .join("")}</table>`;
  const cards = report.columns
    .map((c) => {
      const stats = Object.entries(c.stats)
        .map(([k, o]) => {
          const bound = `${o.breachWhen === "above" ? "&gt;" : "&lt;"} ${fmt(o.threshold)} → ${o.action}`;
          const threshold = o.threshold === null ? "—" : bound;
          const cells = [escapeHtml(k), fmt(o.value), threshold, badge(o.verdict)];
          return `<tr>${cells.map((cell) => `<td>${cell}</td>`).join("")}</tr>`;
        })
        .join("");
      const examples = (values: string[]) => escapeHtml(values.slice(0, 10).join(", "));
      const cats = c.categories
        ? `<p class="muted">new ` +
          `categories: ${c.categories.newCount} ${examples(c.categories.newExamples)}; ` +
          `vanished: ${c.categories.vanishedCount} ${examples(c.categories.vanishedExamples)}</p>`
        : "";
      const ks = c.ks
        ? `<p class="muted">` +
          `KS D=${fmt(c.ks.statistic)}, p=${fmt(c.ks.pValue)} (${c.ks.method}), ` +
          `n=${fmt(c.ks.nReference)} vs ${fmt(c.ks.nCurrent)}</p>`
        : "";
      return (
        `<div class="card" ` +
        `id="col-${escapeHtml(c.name)}"><h2>${escapeHtml(c.name)} ${badge(c.verdict)} ${
          c.approximate ? "<span " + 'class="muted">(approximate: ' + "from reference profile)</span>" : ""
        }</h2>` +
        `<p class="muted">` +
        `missing ${(c.reference.missingRate * 100).toFixed(2)}% → ${(c.current.missingRate * 100).toFixed(2)}%</p>` +
        `<table><tr><th>statistic</th><th>value</th>` +
        `<th>threshold</th><th>verdict</th></tr>${stats}</table>${ks}${cats}${driftChart(c.chart)}</div>`
      );
    })
    .join("");
  const body =
    `<h1>Drift ${badge(report.verdict)}</h1><p ` +
    `class="muted">` +
    `reference ${escapeHtml(report.reference)} (${fmt(report.rowCount.reference)} rows) → ` +
    `current ${escapeHtml(report.current)} (${fmt(report.rowCount.current)} rows)</p>` +
    `<h2>Schema ${badge(s.verdict)}</h2>${
      schemaRows.length
        ? `<table><tr><th>column</th>` + `<th>change</th><th>type</th></tr>${schemaRows.join("")}</table>`
        : '<p class="muted">no schema changes</p>'
    }` +
    `<h2>Columns</h2>${summary}${cards}`;
  return page(subject ? `Drift report of ${subject}` : "Drift report", body);
}

export function renderContractHtml(report: ContractReport, subject?: string): string {
  const verdict: Verdict = report.passed ? "pass" : "fail";
  const rows = report.violations
    .map((v) => {
      const examples = v.examples.map((e) => `row ${e.row}: <code>${escapeHtml(e.value ?? "null")}</code>`);
      const cells = [v.column ?? "(table)", v.rule, v.expected, v.found].map((t) => `<td>${escapeHtml(t)}</td>`);
      return `<tr>${cells.join("")}<td>${examples.join("<br>")}</td></tr>`;
    })
    .join("");
  const body =
    `<h1>Contract${report.contract ? ` ${escapeHtml(report.contract)}` : ""} ${badge(verdict)}</h1><p ` +
    `class="muted">${escapeHtml(report.source)} — ${fmt(report.rowCount)} rows, ` +
    `${report.violations.length} violation(s)</p>` +
    (rows
      ? `<table><tr><th>column</th><th>rule</th><th>expected</th><th>found</th><th>examples</th></tr>${rows}</table>`
      : "<p>Every rule holds.</p>");
  return page(subject ? `Contract report of ${subject}` : "Contract report", body);
}
