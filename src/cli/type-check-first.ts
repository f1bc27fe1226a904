/** How the type check's diagnostics are printed, for `check`, `run` and `plan`. */
import { join, relative } from "node:path";
import { isTrainyardError } from "../core/errors.js";
import { moduleCacheDir } from "../engine/module-loader.js";
import { typeCheckModule, typescriptVersion, type TypeCheckResult, type TypeDiagnostic } from "../engine/type-check.js";
import { has, type ParsedArgs } from "./args.js";
import { bold, dim, red } from "./format.js";

/** Whether `run`/`plan` should type-check: not with --no-typecheck, and not without TypeScript (said once). */
export function wantsTypeCheck(args: ParsedArgs): boolean {
  if (has(args, "no-typecheck")) return false;
  if (typescriptVersion()) return true;
  process.stderr.write(dim("type check skipped: install typescript (npm i -D typescript) to have pipelines checked\n"));
  return false;
}

/** Prints every diagnostic of a TYPE_CHECK_FAILED error before it is reported as the command's error. */
export function printTypeErrors(err: unknown): void {
  if (!isTrainyardError(err) || err.code !== "TYPE_CHECK_FAILED") return;
  const diagnostics = err.fields.diagnostics as TypeDiagnostic[] | undefined;
  if (diagnostics) process.stderr.write(formatDiagnostics(diagnostics));
}

export function checkModule(modulePath: string): Promise<TypeCheckResult> {
  return typeCheckModule(modulePath, moduleCacheDir(join(process.cwd(), ".trainyard", "cache")));
}

/** `file:line:col error TS2322: message`, the explanation in words, then the rest of the compiler's chain. */
export function formatDiagnostics(diagnostics: readonly TypeDiagnostic[]): string {
  return diagnostics.map(formatDiagnostic).join("\n") + (diagnostics.length ? "\n" : "");
}

function formatDiagnostic(d: TypeDiagnostic): string {
  const where = relative(process.cwd(), d.file).startsWith("..") ? d.file : relative(process.cwd(), d.file);
  const [first, ...rest] = d.message.split("\n");
  const lines = [`${bold(`${where}:${d.line}:${d.column}`)} ${red(`error TS${d.code}`)}: ${d.explanation ?? first}`];
  if (d.explanation) lines.push(dim(`  ${first}`));
  for (const line of rest.slice(0, 6)) lines.push(dim(`  ${line}`));
  return lines.join("\n");
}
