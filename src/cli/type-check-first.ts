/** The type check `run`, `plan` and `check` share, and how its diagnostics are printed. */
import { join, relative } from "node:path";
import { TrainyardError } from "../core/errors.js";
import { moduleCacheDir } from "../engine/module-loader.js";
import { typeCheckModule, typescriptVersion, type TypeCheckResult, type TypeDiagnostic } from "../engine/type-check.js";
import { has, type ParsedArgs } from "./args.js";
import { bold, dim, red } from "./format.js";

/** Type-checks the module unless --no-typecheck; TYPE_CHECK_FAILED (after printing every error) stops the command. */
export async function typeCheckFirst(modulePath: string, args: ParsedArgs): Promise<void> {
  if (has(args, "no-typecheck")) return;
  if (!typescriptVersion()) {
    process.stderr.write(
      dim("type check skipped: install typescript (npm i -D typescript) to have pipelines checked\n"),
    );
    return;
  }
  const result = await checkModule(modulePath);
  if (result.ok) return;
  process.stderr.write(formatDiagnostics(result.diagnostics));
  throw typeCheckFailed(modulePath, result);
}

export function checkModule(modulePath: string): Promise<TypeCheckResult> {
  return typeCheckModule(modulePath, moduleCacheDir(join(process.cwd(), ".trainyard", "cache")));
}

export function typeCheckFailed(modulePath: string, result: TypeCheckResult): TrainyardError {
  const n = result.diagnostics.length;
  return new TrainyardError(
    "TYPE_CHECK_FAILED",
    `${n} type error${n === 1 ? "" : "s"} in ${modulePath} (listed above)`,
    {
      file: result.diagnostics[0]?.file,
      hint: "fix them (`trainyard check <pipeline.ts>` lists them again), or pass --no-typecheck to run anyway",
    },
  );
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
