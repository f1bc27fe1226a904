/**
 * Data-quality steps for pipelines: contract validation, profiling and drift, each storing a JSON
 * result and a self-contained HTML report. Built only on the public authoring API.
 */
import {
  type Dataset,
  type FileArtifact,
  TrainyardError,
  type Pipeline,
  type StepContext,
  type StepRef,
} from "../../../index.js";
import { checkContract, type ContractReport } from "../contract-check.js";
import type { Contract } from "../contract.js";
import type { DataSource } from "../data-source.js";
import type { DriftConfig } from "../drift-config.js";
import { detectDrift, type DriftReport } from "../drift.js";
import { profileDataset, type Profile, type ProfileOptions } from "../profile.js";
import { renderContractHtml, renderDriftHtml, renderProfileHtml } from "../report-html.js";
import { formatTable, keepFailedReport, writeReportHtml } from "./report-files.js";

/** Bumped when these steps change what they compute; part of their cache keys. */
const LIB_VERSION = "data-steps/1";

/**
 * A dataset artifact as the data library reads it: in the format it declares (a command step's
 * CSV or JSON output is not Parquet), with a declared CSV delimiter (stored files have no extension).
 */
export function datasetSource(d: Dataset): DataSource {
  const delimiter = typeof d.meta.delimiter === "string" ? d.meta.delimiter : undefined;
  // Named by digest, not by where this machine keeps it: a report or profile is the same on every worker.
  const label = d.digest ? `dataset ${d.digest}` : d.path;
  return { path: d.path, label, format: d.meta.format ?? "parquet", ...(delimiter ? { delimiter } : {}) };
}

export interface ValidateOptions {
  data: StepRef<Dataset>;
  contract: Contract;
  description?: string;
}

/**
 * Checks `data` against `contract` inside a running step: returns the report and its HTML file,
 * or throws CONTRACT_VIOLATION listing every violation, with the report kept under the home.
 */
export async function enforceContract(
  ctx: StepContext<unknown>,
  data: Dataset,
  contract: Contract,
  name = "contract.html",
): Promise<{ report: ContractReport; html: FileArtifact }> {
  const report = await checkContract(datasetSource(data), contract);
  const htmlPath = writeReportHtml(ctx, name, renderContractHtml(report, `step "${ctx.stepId}"`));
  const label = String(data.meta.source ?? data.path);
  if (!report.passed) {
    const kept = keepFailedReport(ctx, htmlPath);
    const rows = report.violations.map((v) => [
      v.column ?? "(table)",
      v.rule,
      `expected ${v.expected}`,
      `found ${v.found}`,
      v.examples.length
        ? `e.g. ${v.examples
            .slice(0, 3)
            .map((e) => `row ${e.row}: ${e.value ?? "null"}`)
            .join(", ")}`
        : "",
    ]);
    const count = report.violations.length;
    const violations = `${count} violation${count === 1 ? "" : "s"}`;
    throw new TrainyardError(
      "CONTRACT_VIOLATION",
      `data contract violated: ${violations} in ${label} ` +
        `(${report.rowCount.toLocaleString("en-US")} rows)\n${formatTable(rows)}`,
      {
        step: ctx.stepId,
        file: label,
        column: report.violations[0]?.column,
        hint: `open the report: ${kept}; fix the data, or relax the contract if the change is expected`,
      },
    );
  }
  return { report, html: ctx.file(htmlPath, { contentType: "text/html", report: "contract" }) };
}

/** Checks a dataset against its contract; a violation fails the step, listing every violation. */
export function validate(
  p: Pipeline<any>,
  id: string,
  opts: ValidateOptions,
): StepRef<{ report: ContractReport; html: FileArtifact }> {
  return p.step(id, {
    description: opts.description ?? "check the data contract",
    guard: true,
    inputs: { data: opts.data },
    version: LIB_VERSION,
    config: { contract: opts.contract },
    run: (ctx, { data }) => enforceContract(ctx, data, opts.contract),
  });
}

export interface ProfileStepOptions extends ProfileOptions {
  data: StepRef<Dataset>;
  description?: string;
}

/** Profiles a dataset (counts, nulls, distinct, ranges, quantiles, histograms, top-k). */
export function profile(
  p: Pipeline<any>,
  id: string,
  opts: ProfileStepOptions,
): StepRef<{ profile: Profile; html: FileArtifact }> {
  const { data, description, ...options } = opts;
  return p.step(id, {
    description: description ?? "profile the data",
    inputs: { data },
    version: LIB_VERSION,
    config: { options: { ...options, edgesFrom: undefined } },
    run: async (ctx, { data }) => {
      const result = await profileDataset(datasetSource(data), options);
      const htmlPath = writeReportHtml(ctx, "profile.html", renderProfileHtml(result, `step "${ctx.stepId}"`));
      return { profile: result, html: ctx.file(htmlPath, { contentType: "text/html", report: "profile" }) };
    },
  });
}

export interface DriftStepOptions {
  /** The reference: training data, or the profile kept as a model's reference statistics. */
  reference: StepRef<Dataset> | StepRef<Profile>;
  current: StepRef<Dataset>;
  /**
   * Only these columns are compared (the same as `config.include`; per-column rules stay in `config.columns`).
   * @default every column present on both sides
   */
  columns?: string[];
  config?: DriftConfig;
  description?: string;
}

/**
 * Measures drift of `current` against `reference`. Columns over a threshold whose action is
 * "fail" stop the run before training; "warn" verdicts are recorded and the run goes on.
 */
export function drift(
  p: Pipeline<any>,
  id: string,
  opts: DriftStepOptions,
): StepRef<{ report: DriftReport; html: FileArtifact }> {
  const config: DriftConfig = opts.columns ? { ...opts.config, include: opts.columns } : (opts.config ?? {});
  return p.step(id, {
    description: opts.description ?? "measure drift against the reference",
    guard: true,
    inputs: { reference: opts.reference as StepRef<Dataset | Profile>, current: opts.current },
    version: LIB_VERSION,
    config: { drift: config },
    run: async (ctx, { reference, current }) => {
      const ref = "$artifact" in reference ? datasetSource(reference) : reference;
      const report = await detectDrift(ref, datasetSource(current), config);
      const htmlPath = writeReportHtml(ctx, "drift.html", renderDriftHtml(report, `step "${ctx.stepId}"`));
      const flagged = report.columns.filter((c) => c.verdict !== "pass");
      for (const c of flagged)
        ctx.log(
          `${c.verdict}: ${c.name} ${Object.entries(c.stats)
            .filter(([, s]) => s.verdict !== "pass")
            .map(([k, s]) => `${k}=${s.value?.toFixed?.(4) ?? s.value}`)
            .join(" ")}`,
        );
      if (report.verdict === "fail") {
        const kept = keepFailedReport(ctx, htmlPath);
        const rows = flagged
          .filter((c) => c.verdict === "fail")
          .map((c) => [
            c.name,
            Object.entries(c.stats)
              .filter(([, s]) => s.verdict === "fail")
              .map(([k, s]) => `${k} ${typeof s.value === "number" ? s.value.toFixed(4) : s.value} > ${s.threshold}`)
              .join(", "),
          ]);
        if (report.schema.verdict === "fail")
          rows.push([
            "(schema)",
            [
              ...report.schema.removed.map((c) => `removed ${c.name}`),
              ...report.schema.retyped.map((r) => `${r.name} ${r.from} -> ${r.to}`),
            ].join(", "),
          ]);
        throw new TrainyardError(
          "DRIFT_DETECTED",
          `drift over the ` +
            `fail thresholds in ${rows.length} column${rows.length === 1 ? "" : "s"}\n${formatTable(rows)}`,
          {
            step: id,
            column: rows[0]?.[0],
            hint: `open the report: ${kept}; if the shift is expected, raise the threshold or set its action to "warn"`,
          },
        );
      }
      return { report, html: ctx.file(htmlPath, { contentType: "text/html", report: "drift" }) };
    },
  });
}
