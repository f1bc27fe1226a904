/** `trainyard contract infer <file>` and `trainyard report <digest>`. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TrainyardError } from "../../core/errors.js";
import { isArtifactHandle } from "../../core/artifacts.js";
import { has, one, usage, type ParsedArgs } from "../args.js";
import { openHome } from "../open-home.js";

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

/** Prints the path of the HTML report behind a step output or artifact digest. */
export async function reportCommand(args: ParsedArgs): Promise<number> {
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
