/** Renders a lineage tree for the terminal: each artifact, who wrote it, and from what. */
import type { ArtifactLineage } from "../engine/lineage-query.js";
import { bold, bytes, dim } from "./format.js";
import { shortDigest } from "../core/hash.js";

/** "dataset, 1.2 MB": an artifact's kind and, when recorded, its size. */
export function kindAndSize(a: { kind?: string | null; size?: number }): string {
  return `${a.kind ?? "?"}${a.size !== undefined ? `, ${bytes(a.size)}` : ""}`;
}

export function renderLineageTree(root: ArtifactLineage, indent = ""): string[] {
  const lines: string[] = [];
  const walk = (n: ArtifactLineage, pad: string, label: string) => {
    if (label.startsWith("source:")) {
      // A file read from outside the store (a step's `sources` or a command's `files`).
      lines.push(`${pad}${dim("source file")} ${label.slice(7, -2)} ${bold(shortDigest(n.digest))}`);
      return;
    }
    lines.push(`${pad}${label}${bold(shortDigest(n.digest))} ${dim(kindAndSize(n))}`);
    if (n.repeated) return void lines.push(`${pad}  ${dim("(shown above)")}`);
    if (!n.producedBy) return void lines.push(`${pad}  ${dim("source (not written by a step)")}`);
    lines.push(`${pad}  written by ${n.producedBy.stepId} (${n.producedBy.stepRunId})`);
    for (const i of n.producedBy.inputs) walk(i.node, `${pad}    `, `${i.name}: `);
  };
  walk(root, indent, "");
  return lines;
}
