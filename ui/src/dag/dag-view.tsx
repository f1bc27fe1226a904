/**
 * The run's DAG with live status: React Flow draws it, ELK (in a worker, cached by the graph's
 * digest) places it. Only nodes in view are rendered, which keeps 1,000-step graphs responsive.
 */
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeHandle,
  type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { statusClass } from "../components/status";
import { NODE_HEIGHT, NODE_WIDTH, useDagLayout, type GraphShape, type StepRanks } from "./dag-layout";
import { afterPainted, dagNodeTiming } from "./element-timing";

export interface DagStep {
  id: string;
  status: string;
  cached: boolean;
  guard?: boolean;
}

interface Props {
  graph: GraphShape;
  digest?: string;
  /** The server's ranked placement, drawn until ELK's is ready. */
  ranks?: StepRanks;
  steps: Map<string, DagStep>;
  selected?: string;
  onSelect: (stepId: string) => void;
}

/** Above this many steps the graph is drawn in part (what is in view), not fitted whole. */
const LARGE_GRAPH = 150;
/** Where a large graph opens: its first layers at a readable zoom. */
const OPENING_VIEWPORT = { x: 16, y: 16, zoom: 0.8 };

type StepNodeData = {
  label: string;
  status: string;
  cached: boolean;
  guard: boolean;
  selected: boolean;
  /** Which layout placed the node, named in its first paint's timing entry. */
  layout: string;
};

const StepNode = memo(function StepNode({ data }: NodeProps<Node<StepNodeData>>) {
  const word = data.cached ? "reused" : data.status;
  return (
    <div
      className={`dag-node ${statusClass(data.status, data.cached)}`}
      data-status={word}
      style={{ width: NODE_WIDTH, height: NODE_HEIGHT, outline: data.selected ? "2px solid var(--focus)" : undefined }}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="dag-label" title={data.label} elementtiming={dagNodeTiming(data.layout)}>
        {data.guard ? "◆ " : ""}
        {data.label}
      </span>
      <span className="dag-status">{word}</span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { step: StepNode };
const ORIGIN = { x: 0, y: 0 };
/** Where StepNode's handles sit (React Flow's 6 px handles, centred on the left and right edges). */
const HANDLES: NodeHandle[] = [
  { type: "target", position: Position.Left, x: -3, y: NODE_HEIGHT / 2 - 3, width: 6, height: 6 },
  { type: "source", position: Position.Right, x: NODE_WIDTH - 3, y: NODE_HEIGHT / 2 - 3, width: 6, height: 6 },
];

export default function DagView({ graph, digest, ranks, steps, selected, onSelect }: Props) {
  const large = graph.nodes.length > LARGE_GRAPH;
  // React Flow's first render works over every node and edge even when it draws few: a large graph's
  // first render gets the nodes of its opening view, and the whole graph follows once that is painted.
  const [whole, setWhole] = useState(!large);
  // ELK waits for that too: its worker's start would compete with the first paint for the cores.
  const { layout, source = "pending" } = useDagLayout(graph, digest, ranks, whole);
  // The box's size, read before the first paint: given to React Flow, it draws the nodes in view in
  // its first render instead of a render later, once it has measured the box itself.
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState<{ width: number; height: number }>();
  // After every commit: the box is there only once a layout is.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && !size) setSize({ width: el.clientWidth, height: el.clientHeight });
  });
  const edges = useMemo<Edge[]>(
    () => graph.edges.map((e, i) => ({ id: `e${i}`, source: e.source, target: e.target, focusable: false })),
    [graph],
  );
  // A node object is kept while its place and state hold: a live update re-renders only the nodes it changed.
  const previous = useRef(new Map<string, Node<StepNodeData>>());
  const nodes = useMemo<Node<StepNodeData>[]>(() => {
    if (!layout) return [];
    const next = new Map<string, Node<StepNodeData>>();
    const list = graph.nodes.map((id) => {
      const s = steps.get(id);
      const status = s?.status ?? "pending";
      const cached = s?.cached ?? false;
      const guard = s?.guard ?? false;
      const position = layout.positions[id] ?? ORIGIN;
      const old = previous.current.get(id);
      const d = old?.data;
      const same =
        old &&
        old.position === position &&
        d!.status === status &&
        d!.cached === cached &&
        d!.guard === guard &&
        d!.layout === source;
      const node: Node<StepNodeData> =
        same && d!.selected === (id === selected)
          ? old
          : {
              id,
              type: "step",
              position,
              // Known sizes and handles: React Flow culls off-screen nodes and draws their edges without
              // first rendering every node once to measure it (seconds at 1,000 steps).
              width: NODE_WIDTH,
              height: NODE_HEIGHT,
              handles: HANDLES,
              ariaLabel: `step ${id}: ${cached ? "reused" : status}`,
              data: { label: id, status, cached, guard, selected: id === selected, layout: source },
            };
      next.set(id, node);
      return node;
    });
    previous.current = next;
    return list;
  }, [graph, layout, source, steps, selected]);

  // Once the opening view is on screen (painted, not only handed to the compositor).
  useEffect(() => {
    if (whole || !layout || !size) return;
    return afterPainted(dagNodeTiming(""), () => setWhole(true));
  }, [whole, layout, size]);
  const drawn = useMemo(() => {
    if (whole || !size) return { nodes, edges };
    // The opening view in graph units, with a node's size to spare on each side.
    const right = (size.width - OPENING_VIEWPORT.x) / OPENING_VIEWPORT.zoom + NODE_WIDTH;
    const bottom = (size.height - OPENING_VIEWPORT.y) / OPENING_VIEWPORT.zoom + NODE_HEIGHT;
    const inView = nodes.filter((n) => n.position.x < right && n.position.y < bottom);
    const ids = new Set(inView.map((n) => n.id));
    return { nodes: inView, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
  }, [whole, size, nodes, edges]);
  if (!layout) {
    return (
      <div className="dag" aria-busy="true" data-layout={source}>
        <p className="muted" style={{ padding: 12 }}>
          Laying out {graph.nodes.length} steps…
        </p>
      </div>
    );
  }
  return (
    <div className="dag" ref={box} data-layout={source} data-layout-ms={Math.round(layout.ms)}>
      {size && (
        <ReactFlow
          width={size.width}
          height={size.height}
          nodes={drawn.nodes}
          edges={drawn.edges}
          nodeTypes={nodeTypes}
          onNodeClick={(_, n) => onSelect(n.id)}
          nodesDraggable={false}
          nodesConnectable={false}
          onlyRenderVisibleElements={large}
          // A large graph opens on its first layers at a readable zoom: fitting it all would draw
          // every node at once (seconds at 1,000 steps), too small to read anyway.
          fitView={!large}
          defaultViewport={large ? OPENING_VIEWPORT : undefined}
          minZoom={0.05}
          proOptions={{ hideAttribution: true }}
          colorMode="system"
        >
          <Background />
          <Controls showInteractive={false} />
          {graph.nodes.length > 40 && !large && <MiniMap pannable zoomable />}
        </ReactFlow>
      )}
    </div>
  );
}
