/** `trainyard contract infer <files, dirs or globs>`. */
import { writeFileSync } from "node:fs";
import { has, one, usage, type ParsedArgs } from "../args.js";

export async function contractInferCommand(args: ParsedArgs): Promise<number> {
  const files = args.positionals;
  if (!files.length) {
    throw usage(
      "trainyard contract infer needs data files (Parquet, " +
        "CSV or JSON), directories or quoted globs such as 'landing/*.csv'",
    );
  }
  const file = files.join(" ");
  const { inferContractFromFiles, renderContractModule } = await import("../../lib/data/index.js");
  const contract = await inferContractFromFiles(files);
  const text = has(args, "json") ? `${JSON.stringify(contract, null, 2)}\n` : renderContractModule(contract);
  const out = one(args, "out");
  if (out) {
    writeFileSync(out, text);
    process.stderr.write(
      `wrote a draft contract for ${file} to ${out}: review the ranges and allowed values, ` +
        `then use it with validate()\n`,
    );
  } else process.stdout.write(text);
  return 0;
}
