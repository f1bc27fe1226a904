/** `trainyard contract infer <file>` and `trainyard report <digest>`. */
import { writeFileSync } from "node:fs";
import { reportFiles } from "../../engine/report-files.js";
import { has, one, parseArgs, usage } from "../args.js";
import { openHome } from "../open-home.js";

export async function contractCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "infer") throw usage("usage: trainyard contract infer <data-file> [--out contract.ts] [--json]");
  const args = parseArgs(rest, { values: ["out", "home"], booleans: ["json"] });
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

/** Prints the path of the HTML report behind a step output or artifact digest. */
export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home"], booleans: ["json"] });
  const [digest] = args.positionals;
  if (!digest) throw usage("trainyard report needs the digest of a report artifact or of a step output containing one");
  const ty = await openHome(args);
  try {
    const paths = await reportFiles(ty, digest);
    process.stdout.write(has(args, "json") ? `${JSON.stringify(paths)}\n` : `${paths.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}
