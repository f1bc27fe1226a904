/**
 * `trainyard triggers history <trigger> | pause <trigger> | unpause <trigger>`: the tick ledger
 * and pause switch of a trigger, named `<pipeline>/<name>` (or just `<name>` when unique).
 */
import { TrainyardError } from "../../core/errors.js";
import { openTickStore } from "../../daemon/open-tick-store.js";
import type { TickStore } from "../../store/tick-store.js";
import { has, intFlag, usage, type ParsedArgs } from "../args.js";
import { dim, green, red, table, when, yellow } from "../format.js";
import { openHome } from "../open-home.js";

/** Subcommands of `trainyard triggers` this file answers; `list` and `preview` live in triggers.ts. */
export const TRIGGER_STATE_SUBCOMMANDS = ["history", "pause", "unpause"] as const;

/** The command for one subcommand, as the definition in src/cli/definitions/operations.ts loads it. */
export function triggerStateCommand(sub: (typeof TRIGGER_STATE_SUBCOMMANDS)[number]) {
  return (args: ParsedArgs) => changeTriggerState(sub, args);
}

async function changeTriggerState(sub: (typeof TRIGGER_STATE_SUBCOMMANDS)[number], args: ParsedArgs): Promise<number> {
  const [name] = args.positionals;
  if (!name) throw usage(`trainyard triggers ${sub} needs a trigger name, e.g. flight-delays/nightly`);
  const ty = await openHome(args);
  const store = await openTickStore(ty);
  try {
    const trigger = await resolveTrigger(store, name);
    if (sub === "history") return await printHistory(store, trigger, intFlag(args, "limit") ?? 20, has(args, "json"));
    await store.setPaused(trigger, sub === "pause");
    const note =
      sub === "pause" ? "its schedule slots are recorded as skipped until unpaused" : "the daemon evaluates it again";
    process.stdout.write(`${sub === "pause" ? yellow("paused") : green("unpaused")} ${trigger}: ${note}\n`);
    return 0;
  } finally {
    await store.close();
    await ty.close();
  }
}

async function resolveTrigger(store: TickStore, name: string): Promise<string> {
  if (name.includes("/")) return name;
  const known = (await store.listTriggerStates()).map((s) => s.trigger);
  const matches = known.filter((t) => t.endsWith(`/${name}`));
  if (matches.length === 1) return matches[0];
  throw new TrainyardError(
    "NOT_FOUND",
    matches.length
      ? `trigger name "${name}" is ambiguous: ${matches.join(", ")}`
      : `no trigger "${name}" has state yet`,
    {
      hint: known.length
        ? `known triggers: ${known.join(", ")}; name one as <pipeline>/<name>`
        : "start `trainyard daemon` with the pipeline module first, or name it as <pipeline>/<name>",
    },
  );
}

async function printHistory(store: TickStore, trigger: string, limit: number, json: boolean): Promise<number> {
  const ticks = await store.listTicks(trigger, { limit });
  if (json) {
    process.stdout.write(`${JSON.stringify(ticks)}\n`);
    return 0;
  }
  if (!ticks.length) {
    process.stdout.write(`${trigger}: no ticks recorded\n`);
    return 0;
  }
  const paint = (s: string) => (s === "requested" ? green(s) : s === "failed" ? red(s) : yellow(s));
  const rows = ticks.map((t) => [
    when(t.scheduledAt),
    paint(t.status),
    (t.runIds ?? []).join(",") || dim("-"),
    t.reason,
  ]);
  process.stdout.write(`${table([["scheduled (UTC)", "status", "runs", "reason"].map(dim), ...rows])}\n`);
  return 0;
}
