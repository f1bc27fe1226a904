/** The lineage edges a finished step run records: what it read, what it produced or reused. */
import { handlesIn } from "../core/artifacts.js";
import type { LineageEdge, StepRunRecord } from "../store/metadata-store.js";

/** Edges of one step run, each named by the record's run, step and step run. */
export class LineageEdges {
  readonly edges: LineageEdge[] = [];

  constructor(private readonly record: StepRunRecord) {}

  add(digest: string, direction: "in" | "out", name: string, reused = false): this {
    const r = this.record;
    this.edges.push({ stepRunId: r.id, runId: r.runId, stepId: r.stepId, digest, direction, name, reused });
    return this;
  }
}

/**
 * A succeeded step (or item): its inputs, the artifacts inside them, the files it read from
 * outside the store, and its output. A reuse records only what it reused (out edges, which also
 * keep the artifacts alive for gc); its inputs are those of the step run it reused (`cachedFrom`).
 */
export function succeededLineage(
  record: StepRunRecord,
  inputs: Record<string, unknown>,
  inputDigests: Record<string, string>,
  output: { digest: string; value: unknown },
  produced: ReadonlyArray<{ name: string; digest: string }> | undefined,
  reused: boolean,
): LineageEdge[] {
  const lineage = new LineageEdges(record);
  if (!reused) {
    for (const [name, digest] of Object.entries(inputDigests)) {
      lineage.add(digest, "in", name);
      // Artifacts inside an input (a picked field, a dataset in a manifest) get their own edges,
      // so lineage of the artifact itself lists this consumer.
      if (name !== "over")
        for (const h of handlesIn(inputs[name]))
          if (h.digest !== digest) lineage.add(h.digest, "in", `${name}.artifact`);
    }
    // Files read from outside the store (sources, a command's files): the raw end of lineage.
    for (const [path, digest] of Object.entries(record.components?.files ?? {}))
      lineage.add(digest, "in", `source:${path}`);
  }
  lineage.add(output.digest, "out", "output", reused);
  if (produced) for (const p of produced) lineage.add(p.digest, "out", p.name);
  else for (const h of handlesIn(output.value)) lineage.add(h.digest, "out", "output.artifact", reused);
  return lineage.edges;
}

/** A map step's own record: the list it fanned out over, its other inputs, the list of outputs. */
export function mapLineage(record: StepRunRecord, overDigest: string, outputDigest: string): LineageEdge[] {
  const lineage = new LineageEdges(record).add(overDigest, "in", "over");
  for (const [name, digest] of Object.entries(record.components?.inputs ?? {}))
    if (name !== "over") lineage.add(digest, "in", name);
  return lineage.add(outputDigest, "out", "output").edges;
}

/** A gate that rejected: its inputs and its stored verdict. */
export function rejectedLineage(
  record: StepRunRecord,
  inputDigests: Record<string, string>,
  outputDigest: string,
): LineageEdge[] {
  const lineage = new LineageEdges(record);
  for (const [name, digest] of Object.entries(inputDigests)) lineage.add(digest, "in", name);
  return lineage.add(outputDigest, "out", "output").edges;
}
