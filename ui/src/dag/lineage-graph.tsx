/**
 * A model version's lineage as a graph, left to right: landed files and datasets flow through
 * the steps that read them into the model. Laid out like the run's DAG (ELK in its worker).
 */
import { Background, Controls, Handle, Position, ReactFlow, type Edge, type Node, type NodeProps } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { memo, useMemo } from "react";
import type { LineageNode } from "../api/types";
import { navigate } from "../router";
import { links } from "../api/endpoints";
import { NODE_HEIGHT, NODE_WIDTH, useDagLayout } from "./dag-layout";

type Data = { label: string; detail: string; kind: "artifact" | "step" | "source"; href?: string };

const LineageBox = memo(function LineageBox({ data }: NodeProps<Node<Data>>) {
  const cls = data.kind === "step" ? "s-running" : data.kind === "source" ? "s-skipped" : "s-none";
  return (
    <div className={`dag-node ${cls}`} style={{ width: NODE_WIDTH, height: NODE_HEIGHT }} title={data.detail}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="dag-label">{data.label}</span>
      <span className="dag-status">{data.kind === "source" ? "landed" : data.kind}</span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});
const nodeTypes = { lineage: LineageBox };

/** Artifacts and the step runs between them, from the model back to its sources. */
export function flattenLineage(root: LineageNode): {
  nodes: Map<string, Data>;
  edges: Array<{ source: string; target: string }>;
} {
  const nodes = new Map<string, Data>();
  const edges = new Map<string, { source: string; target: string }>();
  const visit = (n: LineageNode, name: string) => {
    const id = `a:${n.digest}`;
    const p = n.producedBy;
    if (!nodes.has(id)) {
      nodes.set(id, { label: name, detail: `${n.kind ?? "artifact"} ${n.digest}`, kind: p ? "artifact" : "source" });
    }
    if (!p) return;
    const stepId = `s:${p.stepRunId}`;
    if (!nodes.has(stepId)) {
      nodes.set(stepId, {
        label: p.stepId,
        detail: `step ${p.stepId} of run ${p.runId}`,
        kind: "step",
        href: links.step(p.runId, p.stepId),
      });
    }
    edges.set(`${stepId}>${id}`, { source: stepId, target: id });
    for (const input of p.inputs) {
      edges.set(`a:${input.node.digest}>${stepId}`, { source: `a:${input.node.digest}`, target: stepId });
      visit(input.node, input.name);
    }
  };
  visit(root, "model");
  return { nodes, edges: [...edges.values()] };
}

export default function LineageGraph({ root }: { root: LineageNode }) {
  const flat = useMemo(() => flattenLineage(root), [root]);
  const shape = useMemo(() => ({ nodes: [...flat.nodes.keys()], edges: flat.edges }), [flat]);
  const { layout } = useDagLayout(shape, undefined);
  const nodes = useMemo<Node<Data>[]>(
    () =>
      [...flat.nodes].map(([id, data]) => ({
        id,
        type: "lineage",
        data,
        position: layout?.positions[id] ?? { x: 0, y: 0 },
      })),
    [flat, layout],
  );
  const edges = useMemo<Edge[]>(() => flat.edges.map((e, i) => ({ id: `l${i}`, ...e, focusable: false })), [flat]);
  return (
    <div className="dag" style={{ height: 380 }} data-testid="lineage-graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        nodesDraggable={false}
        nodesConnectable={false}
        onNodeClick={(_, n) => n.data.href && navigate(n.data.href)}
        proOptions={{ hideAttribution: true }}
        colorMode="system"
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
