/** `trainyard contract infer <file>`. */
import { writeFileSync } from "node:fs";
import { has, one, usage, type ParsedArgs } from "../args.js";

export async function contractInferCommand(args: ParsedArgs): Promise<number> {
  const [file] = args.positionals;
  if (!file) throw usage("trainyard contract infer needs a data file (Parquet, CSV or JSON)");
  const { inferContract, renderContractModule } = await import("../../lib/data/index.js");
  const contract = await inferContract(file);
  const text = has(args, "json") ? `${JSON.stringify(contract, null, 2)}\n` : renderContractModule(contract);
  const out = one(args, "out");
  if (out) {
    writeFileSync(out, text);
    process.stderr.write(`wrote a draft contract for ${file} to ${out}: review the ranges and allowed values, then use it with validate()\n`);
  } else process.stdout.write(text);
  return 0;
}
