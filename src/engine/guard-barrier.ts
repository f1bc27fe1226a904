/**
 * Guards protect production. A step marked `sideEffect` (register, deploy, promote) starts only
 * once every guard it waits for has succeeded, and is skipped, naming the guard, once one ended
 * otherwise, whether or not it is wired downstream of that guard.
 */
import type { CompiledGraph } from "../core/graph.js";
import { descendantsOf } from "../core/graph.js";
import type { NodeStatus } from "./executor-types.js";

const ENDED: ReadonlySet<NodeStatus> = new Set(["succeeded", "failed", "rejected", "skipped", "cancelled"]);

export class GuardBarrier {
  /** Side-effect step -> the guards it waits for. */
  private readonly waits = new Map<string, readonly string[]>();
  private readonly guards: ReadonlySet<string>;

  constructor(graph: CompiledGraph) {
    const ids = [...graph.steps.keys()];
    this.guards = new Set(ids.filter((id) => graph.steps.get(id)!.def.options.guard === true));
    const effects = ids.filter((id) => graph.steps.get(id)!.def.options.sideEffect === true);
    if (!this.guards.size || !effects.length) return;
    const ancestors = ancestorsOf(graph);
    for (const effect of effects) {
      const after = descendantsOf(graph, effect);
      const before = ancestors.get(effect)!;
      // A guard that can only run after this step, or after a side effect that does not come
      // before it, is a later check: waiting for it could deadlock two side effects.
      const onlyBefore = (g: string) => [...ancestors.get(g)!].every((a) => !effects.includes(a) || before.has(a));
      const waited = [...this.guards].filter((g) => g !== effect && !after.has(g) && onlyBefore(g));
      if (waited.length) this.waits.set(effect, waited);
    }
  }

  /** Side-effect steps that wait for at least one guard. */
  get sideEffects(): IterableIterator<string> {
    return this.waits.keys();
  }

  isGuard(id: string): boolean {
    return this.guards.has(id);
  }

  /** A side effect with a guard still to finish must not start yet. */
  mustWait(id: string, statusOf: (id: string) => NodeStatus): boolean {
    return this.waits.get(id)?.some((g) => !ENDED.has(statusOf(g))) ?? false;
  }

  /** Why a side effect must never start in this run: the first of its guards that did not pass. */
  blockedBy(id: string, statusOf: (id: string) => NodeStatus): string | undefined {
    for (const g of this.waits.get(id) ?? []) {
      const status = statusOf(g);
      if (!ENDED.has(status) || status === "succeeded") continue;
      const what = status === "rejected" ? "rejected the candidate" : status === "failed" ? "failed" : `was ${status}`;
      return `guard \`${g}\` ${what}`;
    }
    return undefined;
  }
}

function ancestorsOf(graph: CompiledGraph): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const id of graph.order) {
    const set = new Set<string>();
    for (const up of graph.steps.get(id)!.upstream) {
      set.add(up);
      for (const a of out.get(up)!) set.add(a);
    }
    out.set(id, set);
  }
  return out;
}
