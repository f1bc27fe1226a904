/** `trainyard contract infer <files, dirs or globs>` and `trainyard report <digest>`. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TrainyardError } from "../../core/errors.js";
import { isArtifactHandle } from "../../core/artifacts.js";
import { has, one, parseArgs, usage } from "../args.js";
import { openHome } from "../open-home.js";

export async function contractCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "infer") throw usage("usage: trainyard contract infer <file|dir|glob>... [--out contract.ts] [--json]");
  const args = parseArgs(rest, { values: ["out", "home"], booleans: ["json"] });
  const files = args.positionals;
  if (!files.length) throw usage("trainyard contract infer needs data files (Parquet, CSV or JSON), directories or quoted globs such as 'landing/*.csv'");
  const file = files.join(" ");
  const { inferContractFromFiles, renderContractModule } = await import("../../lib/data/index.js");
  const contract = await inferContractFromFiles(files);
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
    const art = await ty.metadata.getArtifact(digest);
    if (!art) throw new TrainyardError("NOT_FOUND", `no artifact "${digest}" in ${ty.home}`, { hint: "a unique prefix of 6+ characters of the digest is enough; see `trainyard show <run> --json`" });
    let paths: string[] = [];
    if (art.kind === "file") paths = [await ty.artifacts.pathOf(art.digest)];
    else if (art.kind === "json") {
      const value = await ty.io.load(art.digest);
      const found: string[] = [];
      const walk = (v: unknown) => {
        if (isArtifactHandle(v)) {
          if (v.meta.contentType === "text/html") found.push(v.path);
        } else if (v && typeof v === "object") Object.values(v).forEach(walk);
      };
      walk(value);
      paths = found;
    } else if (art.kind === "directory") paths = [join(await ty.artifacts.pathOf(art.digest), "index.html")];
    if (!paths.length) throw new TrainyardError("NOT_FOUND", `artifact ${art.digest.slice(0, 12)} (${art.kind}) holds no HTML report`, { hint: "pass the digest of a validate/profile/drift/evaluate step output" });
    process.stdout.write(has(args, "json") ? `${JSON.stringify(paths)}\n` : `${paths.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}
