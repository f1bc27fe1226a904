import type { BinnedFeatures } from "./quantile-cuts.js";
import type { RowExecutor } from "./row-executor.js";
import { NODE_FIELDS } from "./row-kernels.js";
import {
  findBestSplit,
  leafWeight,
  type HistogramLayout,
  type SplitCandidate,
  type SplitParams,
} from "./split-finder.js";
import type { TreeNodes } from "./tree-ensemble.js";

export interface GrowParams extends SplitParams {
  maxDepth: number;
  maxLeaves: number;
  learningRate: number;
}

interface OpenNode {
  id: number;
  hist: Float64Array;
  g: number;
  h: number;
}

/**
 * Grows one tree depth-wise from the root histogram the executor just built. Per level: find each
 * open node's best split, keep the best ones within the leaf budget, partition the split nodes' row
 * lists (per thread, see RowKernels.splitLevel), and get children's histograms by building only
 * the smaller child (touching only its rows) and subtracting it from the parent.
 * The last level is not partitioned here: its splits stay pending in the node table, and the next
 * pass over the rows (gradients or applyLeaves) takes them on the way, which saves a full pass per
 * tree. On return the executor's `leafValue[node]` holds every leaf's value and `pos[row]` each
 * row's leaf or the node whose pending split leads to it, so the next pass can add the tree to the
 * margins without walking it.
 */
export function growTree(
  exec: RowExecutor,
  binned: BinnedFeatures,
  output: number,
  featureMask: Uint8Array,
  p: GrowParams,
): TreeNodes {
  const layout: HistogramLayout = {
    binStride: exec.binStride,
    valueBins: binned.valueBins,
    missingBin: binned.missingBin,
  };
  const tree: TreeNodes = { output, feature: [], threshold: [], defaultLeft: [], left: [], right: [], value: [] };
  const table = exec.nodes;
  const newNode = (g: number, h: number): number => {
    const id = tree.feature.length;
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.defaultLeft.push(false);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(leafWeight(g, h, p.lambda) * p.learningRate);
    table[id * NODE_FIELDS] = -1;
    table[id * NODE_FIELDS + 6] = -1;
    return id;
  };

  const rootHist = new Float64Array(exec.slotStride);
  exec.mergeSlot(0, rootHist);
  // Every row falls in exactly one bin of feature 0 (missing has its own bin): that sums to the total.
  let g = 0;
  let h = 0;
  for (let b = 0; b < binned.valueBins[0] + (binned.missingBin[0] >= 0 ? 1 : 0); b++) {
    g += rootHist[2 * b];
    h += rootHist[2 * b + 1];
  }
  let open: OpenNode[] = [{ id: newNode(g, h), hist: rootHist, g, h }];
  let leaves = 1;

  for (let depth = 0; depth < p.maxDepth && open.length > 0; depth++) {
    const found: { node: OpenNode; split: SplitCandidate }[] = [];
    for (const node of open) {
      const split = findBestSplit(node.hist, node.g, node.h, layout, featureMask, p);
      if (split !== null) found.push({ node, split });
    }
    // Best gains first so a leaf budget keeps the most useful splits; ties by node id stay deterministic.
    found.sort((a, b) => b.split.gain - a.split.gain || a.node.id - b.node.id);
    const budget = p.maxLeaves > 0 ? p.maxLeaves - leaves : found.length;
    const chosen = found.slice(0, Math.max(0, budget));
    if (chosen.length === 0) break;
    leaves += chosen.length;
    const needHist = depth + 1 < p.maxDepth && (p.maxLeaves === 0 || leaves < p.maxLeaves);
    const built: {
      slot: number;
      small: number;
      big: number;
      parent: OpenNode;
      sg: number;
      sh: number;
      bg: number;
      bh: number;
    }[] = [];
    const next: OpenNode[] = [];
    let slots = 0;
    for (const { node, split } of chosen) {
      const n = node.id;
      const l = newNode(split.gl, split.hl);
      const r = newNode(split.gr, split.hr);
      tree.feature[n] = split.feature;
      tree.threshold[n] = binned.cuts[split.feature][split.bin];
      tree.defaultLeft[n] = split.defaultLeft;
      tree.left[n] = l;
      tree.right[n] = r;
      const t = n * NODE_FIELDS;
      table[t] = split.feature;
      table[t + 1] = split.bin;
      table[t + 2] = split.defaultLeft ? binned.missingBin[split.feature] : -1;
      table[t + 3] = 0;
      table[t + 4] = l;
      table[t + 5] = r;
      if (!needHist) continue;
      const leftSmall = split.hl <= split.hr;
      const small = leftSmall ? l : r;
      table[small * NODE_FIELDS + 6] = slots;
      built.push(
        leftSmall
          ? { slot: slots, small: l, big: r, parent: node, sg: split.gl, sh: split.hl, bg: split.gr, bh: split.hr }
          : { slot: slots, small: r, big: l, parent: node, sg: split.gr, sh: split.hr, bg: split.gl, bh: split.hl },
      );
      slots++;
    }
    if (!needHist) break; // the chosen splits stay pending (see above)
    // Larger siblings are marked with slot `slots`: the pass skips them (subtraction gives theirs).
    for (const b of built) table[b.big * NODE_FIELDS + 6] = slots;
    chosen.forEach(({ node }, i) => {
      exec.levelNodes[i] = node.id;
    });
    exec.splitLevel(output, slots, chosen.length);
    for (const b of built) {
      const smallHist = new Float64Array(exec.slotStride);
      exec.mergeSlot(b.slot, smallHist);
      const bigHist = b.parent.hist; // the parent's histogram is not needed again: reuse it in place
      for (let i = 0; i < bigHist.length; i++) bigHist[i] -= smallHist[i];
      next.push({ id: b.small, hist: smallHist, g: b.sg, h: b.sh }, { id: b.big, hist: bigHist, g: b.bg, h: b.bh });
    }
    // The split nodes no longer hold rows; clearing them keeps the next level's pass from re-splitting.
    for (const { node } of chosen) table[node.id * NODE_FIELDS] = -1;
    next.sort((a, b) => a.id - b.id);
    open = next;
  }
  // Rows' nodes for the next pass (pending splits included); the level passes do not track them.
  // Rows sit in leaves whose parent was partitioned and in nodes whose split is still pending.
  const nodeCount = tree.feature.length;
  const pendingChild = new Uint8Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) {
    if (table[i * NODE_FIELDS] >= 0) pendingChild[tree.left[i]] = pendingChild[tree.right[i]] = 1;
  }
  let holding = 0;
  for (let i = 0; i < nodeCount; i++) {
    if (table[i * NODE_FIELDS] >= 0 || (tree.left[i] < 0 && pendingChild[i] === 0)) exec.levelNodes[holding++] = i;
  }
  exec.assignPositions(holding);
  for (let i = 0; i < tree.value.length; i++) {
    if (tree.left[i] >= 0) tree.value[i] = 0;
    exec.leafValue[i] = tree.value[i];
  }
  return tree;
}
