/** What the layout cache stores per graph digest. */
export interface LayoutRequest {
  digest: string;
  nodes: Array<{ id: string; width: number; height: number }>;
  edges: Array<{ source: string; target: string }>;
}

export interface LayoutResult {
  digest: string;
  /** Top-left corner of each node. */
  positions: Record<string, { x: number; y: number }>;
  /** Time the worker took, for the page's data attribute and the benchmark. */
  ms: number;
  error?: string;
  /** The ranked placement shown until ELK's arrives. */
  provisional?: boolean;
}
