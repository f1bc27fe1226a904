/** `trainyard lineage <digest>`: who wrote an artifact, from what, back to the raw inputs. */
import { TrainyardError } from "../../core/errors.js";
import { artifactLineage } from "../../lib/registry/model-lineage.js";
import { has, parseArgs, usage } from "../args.js";
import { renderLineageTree } from "../lineage-tree.js";
import { openHome } from "../open-home.js";

export async function lineageCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home"], booleans: ["json"] });
  const [target] = args.positionals;
  if (!target) throw usage("trainyard lineage needs an artifact digest (or a unique prefix of one)");
  const ty = await openHome(args);
  try {
    const art = await ty.metadata.getArtifact(target);
    if (!art) throw new TrainyardError("NOT_FOUND", `no artifact "${target}" in ${ty.home}`, { hint: "digests are printed by `trainyard show <run> --json`; a unique prefix of 6+ characters is enough" });
    const tree = await artifactLineage(ty, art.digest);
    const readBy = (await ty.metadata.lineageOf(art.digest)).filter((e) => e.direction === "in").map((e) => ({ stepRunId: e.stepRunId, stepId: e.stepId, name: e.name }));
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify({ ...tree, readBy }, null, 2)}\n`);
      return 0;
    }
    const lines = renderLineageTree(tree);
    if (readBy.length) lines.push(`read by: ${readBy.map((r) => `${r.stepRunId} as ${r.name}`).join(", ")}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}
