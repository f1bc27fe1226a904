/**
 * `trainyard models list|show|promote|rollback|unpin`, and `trainyard lineage <model>@<version>`
 * (artifact digests are handed on to the artifact lineage command).
 */
import { TrainyardError } from "../../core/errors.js";
import type { Trainyard } from "../../engine/trainyard.js";
import { parseModelRef } from "../../core/model-ref.js";
import {
  promoteAlias,
  rollbackAlias,
  unpinAlias,
  type AliasEvent,
  type AliasRecord,
  type ModelVersionRecord,
  type PromoteResult,
} from "../../lib/registry/index.js";
import { has, one, usage, type ParsedArgs } from "../args.js";
import { bold, dim, green, red, table, when, yellow } from "../format.js";
import { openHome } from "../open-home.js";
import { kindAndSize, renderLineageTree } from "../lineage-tree.js";
import { shortDigest } from "../../core/hash.js";

export const listModelsCommand = (args: ParsedArgs) => withHome(args, (ty) => listModels(ty, args));
export const showModelCommand = (args: ParsedArgs) => withHome(args, (ty) => showModel(ty, args));
export const promoteCommand = (args: ParsedArgs) => withHome(args, (ty) => promote(ty, args));
export const rollbackCommand = (args: ParsedArgs) => withHome(args, (ty) => rollback(ty, args));
export const unpinCommand = (args: ParsedArgs) => withHome(args, (ty) => unpin(ty, args));

/** `lineage <model>@<version|alias>` walks from a model version; anything else is an artifact digest. */
export async function lineageCommand(args: ParsedArgs): Promise<number> {
  const target = args.positionals[0];
  if (!target?.includes("@")) return (await import("./lineage.js")).artifactLineageCommand(args);
  return withHome(args, async (ty) => {
    const lin = await ty.query.modelLineage(target);
    if (has(args, "json")) return print(JSON.stringify(lin, null, 2));
    const lines = [
      `${bold(`${lin.model}@${lin.version}`)}${lin.aliases.length ? ` (${lin.aliases.join(", ")})` : ""}`,
      `  run        ${lin.run ? `${lin.run.id} (${lin.run.pipeline}, ${lin.run.status})` : dim("unknown")}`,
      `  code       ${lin.codeFingerprint?.slice(0, 16) ?? dim("unknown")}`,
      `  params     ${JSON.stringify(lin.params)}`,
      `  gates      ${gateSummary(lin.gates)}`,
      `  model artifact:`,
    ];
    lines.push(...renderLineageTree(lin.artifact, "    "));
    const sources = lin.sources.map((s) => `${shortDigest(s.digest)} ${dim(`(${kindAndSize(s)})`)}`);
    lines.push(`  raw data: ${sources.join(", ") || dim("none recorded")}`);
    return print(lines.join("\n"));
  });
}

async function listModels(ty: Trainyard, args: ParsedArgs): Promise<number> {
  const models = await ty.query.models();
  if (has(args, "json")) return print(JSON.stringify(models, null, 2));
  if (!models.length) return print(dim("no registered models"));
  const rows = [["MODEL", "VERSIONS", "LATEST", "ALIASES", "UPDATED"].map(bold)];
  for (const m of models) {
    const aliases = Object.entries(m.aliases)
      .map(([a, v]) => `${a}→${v}`)
      .join(" ");
    rows.push([m.name, String(m.versionCount), String(m.latestVersion), aliases || dim("-"), when(m.updatedAt)]);
  }
  return print(table(rows));
}

async function showModel(ty: Trainyard, args: ParsedArgs): Promise<number> {
  const target = args.positionals[0];
  if (!target) throw usage("trainyard models show needs <name>, <name>@<version> or <name>@<alias>");
  const ref = parseModelRef(target);
  if (ref.ref !== undefined) {
    const v = await ty.query.modelVersion(ref);
    if (has(args, "json")) return print(JSON.stringify(v, null, 2));
    return print(describeVersion(v, v.aliases));
  }
  const detail = await ty.query.model(ref.model);
  if (has(args, "json")) return print(JSON.stringify(detail, null, 2));
  const { versions, history, pins, ...summary } = detail;
  const byVersion = new Map<number, string[]>();
  for (const [a, v] of Object.entries(summary.aliases)) byVersion.set(v, [...(byVersion.get(v) ?? []), a]);
  const rows = [["VERSION", "CREATED", "RUN", "METRICS", "GATES", "ALIASES"].map(bold)];
  for (const v of versions) {
    rows.push([
      String(v.version),
      when(v.createdAt),
      v.runId ?? dim("-"),
      metricSummary(v.metrics),
      gateSummary(v.gates),
      (byVersion.get(v.version) ?? []).join(" "),
    ]);
  }
  const lines = [`${bold(summary.name)}: ${summary.versionCount} version(s)`, table(rows)];
  if (pins.length) {
    lines.push("", bold("pins"), table(pins.map((a) => ["  " + a.alias, describePin(a)])));
  }
  if (history.length) {
    lines.push("", bold("alias history"));
    for (const e of history.slice(-20)) lines.push(`  ${when(e.at)}  ${describeEvent(e)}`);
  }
  return print(lines.join("\n"));
}

function describePin(a: AliasRecord): string {
  const pin = a.pin!;
  const replaced = pin.replacedVersion;
  const kept = replaced === undefined ? "" : `; version ${replaced} is kept out by automated runs`;
  const what = pin.action === "rollback" ? "rollback" : "forced promotion";
  const why = pin.reason ? `: ${pin.reason}` : "";
  return `${yellow(`pinned at ${a.version}`)} by ${pin.by} (${what}, ${when(pin.at)})${why}${kept}`;
}

function describeEvent(e: AliasEvent): string {
  const move =
    e.action === "delete"
      ? `deleted (was ${e.fromVersion})`
      : e.action === "unpin"
        ? `released at ${e.toVersion}`
        : `${e.fromVersion ?? "∅"} → ${e.toVersion}`;
  const who = [e.user && `user ${e.user}`, e.runId && `run ${e.runId}`, e.trigger && `trigger ${e.trigger}`]
    .filter(Boolean)
    .join(", ");
  const flags = `${e.forced ? ` ${yellow("FORCED")}` : ""}${e.pinned ? ` ${yellow("pinned")}` : ""}`;
  const why = e.reason ? `: ${e.reason}` : "";
  return `${e.alias} ${e.action} ${move} by ${e.actor}${who ? dim(` (${who})`) : ""}${flags}${why}`;
}

async function promote(ty: Trainyard, args: ParsedArgs): Promise<number> {
  const target = args.positionals[0];
  const alias = one(args, "alias");
  const ref = target ? parseModelRef(target) : undefined;
  if (!ref || typeof ref.ref !== "number" || !alias) {
    throw usage("usage: trainyard models promote <name>@<version> --alias <alias> [--force --reason TEXT]");
  }
  if (has(args, "force") && !one(args, "reason")) {
    throw new TrainyardError("USAGE", "--force needs --reason: overrides of failed gates are recorded with why", {
      hint: 'add --reason "<why this version must ship anyway>"',
    });
  }
  const result = await promoteAlias(ty, ref.model, alias, ref.ref, {
    actor: one(args, "actor") ?? "cli",
    reason: one(args, "reason"),
    force: has(args, "force"),
  });
  return report(args, result, `${ref.model}@${alias}`);
}

async function rollback(ty: Trainyard, args: ParsedArgs): Promise<number> {
  const model = args.positionals[0];
  const alias = one(args, "alias");
  if (!model || model.includes("@") || !alias)
    throw usage("usage: trainyard models rollback <name> --alias <alias> [--reason TEXT]");
  const result = await rollbackAlias(ty, model, alias, {
    actor: one(args, "actor") ?? "cli",
    reason: one(args, "reason"),
  });
  return report(args, result, `${model}@${alias}`);
}

async function unpin(ty: Trainyard, args: ParsedArgs): Promise<number> {
  const model = args.positionals[0];
  const alias = one(args, "alias");
  if (!model || model.includes("@") || !alias) {
    throw usage("usage: trainyard models unpin <name> --alias <alias> --reason TEXT");
  }
  const reason = one(args, "reason");
  if (!reason) {
    throw new TrainyardError("USAGE", "unpin needs --reason: releasing a person's decision is recorded with why", {
      hint: 'add --reason "<why automated runs may move this alias again>"',
    });
  }
  const event = await unpinAlias(ty, model, alias, { actor: one(args, "actor") ?? "cli", reason });
  if (has(args, "json")) return print(JSON.stringify(event, null, 2));
  const label = `${model}@${alias}`;
  const note = "automated runs may move it again";
  return print(`${green("✔")} ${label} is no longer pinned (at version ${event.toVersion}); ${note}`);
}

function report(args: ParsedArgs, r: PromoteResult, label: string): number {
  if (has(args, "json")) return print(JSON.stringify(r, null, 2));
  const e = r.event;
  const forced = e?.forced ? ` ${yellow("(forced past failed gates)")}` : "";
  const lines = [
    e
      ? `${green("✔")} ${label}: ${e.fromVersion ?? "∅"} → ${e.toVersion}${forced}`
      : `${label} already points at version ${r.alias.version}; nothing changed`,
  ];
  const unpin = `trainyard models unpin ${r.alias.model} --alias ${r.alias.alias} --reason ...`;
  if (e?.pinned) lines.push(dim(`  pinned: automated runs leave ${label} alone until \`${unpin}\``));
  for (const h of r.hooks) lines.push(`  hook ${h.hook}: ${h.ok ? green("ok") : red(`failed (${h.detail})`)}`);
  return print(lines.join("\n"));
}

function describeVersion(v: ModelVersionRecord, aliases: string[]): string {
  const lines = [
    `${bold(`${v.model}@${v.version}`)}${aliases.length ? ` (${aliases.join(", ")})` : ""}`,
    `  created    ${when(v.createdAt)}`,
    `  artifact   ${v.artifactDigest}`,
    `  run        ${v.runId ?? dim("-")}${v.stepRunId ? ` (${v.stepRunId})` : ""}`,
    `  code       ${v.codeFingerprint ?? dim("-")}`,
    `  data       ${v.dataDigests.map((d) => shortDigest(d)).join(", ") || dim("-")}`,
    `  profile    ${v.referenceProfileDigest ?? dim("-")}`,
    `  params     ${JSON.stringify(v.params)}`,
    `  metrics    ${JSON.stringify(v.metrics)}`,
    `  gates:`,
  ];
  for (const g of v.gates) {
    const verdict = g.status === "fail" ? red("✘ FAIL") : green(`✔ ${g.status}`);
    lines.push(`    ${verdict} ${g.gate}${g.message ? `: ${g.message}` : ""}`);
  }
  if (!v.gates.length) lines.push(`    ${dim("none recorded")}`);
  if (v.description) lines.push(`  ${v.description}`);
  return lines.join("\n");
}

function gateSummary(gates: ModelVersionRecord["gates"]): string {
  if (!gates.length) return dim("-");
  const failed = gates.filter((g) => g.status === "fail");
  return failed.length ? red(`✘ ${failed.map((g) => g.gate).join(",")}`) : green(`✔ ${gates.length}`);
}

function metricSummary(metrics: Record<string, unknown>): string {
  const parts = Object.entries(metrics)
    .filter(([, v]) => typeof v === "number")
    .slice(0, 3)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : (v as number).toFixed(4)}`);
  return parts.join(" ") || dim("-");
}

async function withHome(args: ParsedArgs, body: (ty: Trainyard) => Promise<number>): Promise<number> {
  const ty = await openHome(args);
  try {
    return await body(ty);
  } finally {
    await ty.close();
  }
}

function print(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}
