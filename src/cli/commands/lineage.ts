/** `trainyard lineage <digest>`: who wrote an artifact, from what, back to the raw inputs. */
import { TrainyardError } from "../../core/errors.js";
import { has, parseArgs, usage } from "../args.js";
import { bold, bytes, dim } from "../format.js";
import { openHome } from "../open-home.js";
import type { Trainyard } from "../../engine/trainyard.js";

export interface LineageNode {
  digest: string;
  kind?: string;
  size?: number;
  producedBy?: { stepRunId: string; runId: string; stepId: string; inputs: Array<{ name: string; node: LineageNode }> };
  readBy: Array<{ stepRunId: string; stepId: string; name: string }>;
}

export async function buildLineage(ty: Trainyard, digest: string, depth = 0, seen = new Set<string>()): Promise<LineageNode> {
  const art = await ty.metadata.getArtifact(digest);
  const edges = await ty.metadata.lineageOf(digest);
  const node: LineageNode = { digest, kind: art?.kind, size: art?.size, readBy: edges.filter((e) => e.direction === "in").map((e) => ({ stepRunId: e.stepRunId, stepId: e.stepId, name: e.name })) };
  const writer = edges.find((e) => e.direction === "out" && !e.reused) ?? edges.find((e) => e.direction === "out");
  if (writer && depth < 30 && !seen.has(digest)) {
    seen.add(digest);
    const sr = await ty.metadata.getStepRun(writer.stepRunId);
    const origin = sr?.cachedFrom ?? writer.stepRunId;
    const ins = (await ty.metadata.lineageOfStepRun(origin)).filter((e) => e.direction === "in");
    const inputs = [];
    for (const e of ins) inputs.push({ name: e.name, node: await buildLineage(ty, e.digest, depth + 1, seen) });
    node.producedBy = { stepRunId: origin, runId: writer.runId, stepId: writer.stepId, inputs };
  }
  return node;
}

export async function lineageCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home"], booleans: ["json"] });
  const [target] = args.positionals;
  if (!target) throw usage("trainyard lineage needs an artifact digest (or a unique prefix of one)");
  const ty = await openHome(args);
  try {
    const art = await ty.metadata.getArtifact(target);
    if (!art) throw new TrainyardError("NOT_FOUND", `no artifact "${target}" in ${ty.home}`, { hint: "digests are printed by `trainyard show <run> --json`; a unique prefix of 6+ characters is enough" });
    const tree = await buildLineage(ty, art.digest);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(tree, null, 2)}\n`);
      return 0;
    }
    const lines: string[] = [];
    const walk = (n: LineageNode, indent: string, label: string) => {
      lines.push(`${indent}${label}${bold(n.digest.slice(0, 12))} ${dim(`${n.kind ?? "?"}${n.size !== undefined ? `, ${bytes(n.size)}` : ""}`)}`);
      if (n.producedBy) {
        lines.push(`${indent}  written by ${n.producedBy.stepId} (${n.producedBy.stepRunId})`);
        for (const i of n.producedBy.inputs) walk(i.node, `${indent}    `, `${i.name}: `);
      } else lines.push(`${indent}  ${dim("source (not written by a step)")}`);
    };
    walk(tree, "", "");
    if (tree.readBy.length) lines.push(`read by: ${tree.readBy.map((r) => `${r.stepRunId} as ${r.name}`).join(", ")}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } finally {
    await ty.close();
  }
}
