/** `trainyard check <pipeline.ts>`: type-checks a pipeline module and its local imports. */
import { usage, has, type ParsedArgs } from "../args.js";
import { dim, green } from "../format.js";
import { checkModule, formatDiagnostics } from "../type-check-first.js";
import { typeCheckFailed, typescriptVersion } from "../../engine/type-check.js";
import { TrainyardError } from "../../core/errors.js";

export async function checkCommand(args: ParsedArgs): Promise<number> {
  const [modulePath, ...extra] = args.positionals;
  if (!modulePath) throw usage("trainyard check needs the path of a pipeline module, e.g. trainyard check pipeline.ts");
  if (extra.length) throw usage(`unexpected argument "${extra[0]}"`);
  if (!typescriptVersion()) {
    throw new TrainyardError(
      "TYPESCRIPT_MISSING",
      "trainyard check needs the typescript package, which is not installed",
      {
        hint: "npm i -D typescript",
      },
    );
  }
  const result = await checkModule(modulePath);
  if (has(args, "json")) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
    const files = `${result.files.length} file${result.files.length === 1 ? "" : "s"}`;
    const note = `(${files}${result.cached ? ", unchanged since the last check" : ""})`;
    process.stdout.write(`${green("✔")} ${modulePath}: no type errors ${dim(note)}\n`);
    return 0;
  }
  process.stdout.write(formatDiagnostics(result.diagnostics));
  throw typeCheckFailed(modulePath, result);
}
