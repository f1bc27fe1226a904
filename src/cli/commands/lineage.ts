/** `trainyard lineage <digest>`: who wrote an artifact, from what, back to the raw inputs. */
import { has, usage, type ParsedArgs } from "../args.js";
import { renderLineageTree } from "../lineage-tree.js";
import { openHome } from "../open-home.js";

export async function artifactLineageCommand(args: ParsedArgs): Promise<number> {
  const [target] = args.positionals;
  if (!target) throw usage("trainyard lineage needs an artifact digest (or a unique prefix of one)");
  const ty = await openHome(args);
  try {
    const view = await ty.query.artifactLineage(target);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      return 0;
    }
    const lines = renderLineageTree(view);
    if (view.readBy.length) lines.push(`read by: ${view.readBy.map((r) => `${r.stepRunId} as ${r.name}`).join(", ")}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}
