/** `trainyard cancel <run>`: a queued run never starts; a running one is sent SIGTERM and ends `cancelled`. */
import { openTickStore } from "../../daemon/open-tick-store.js";
import { cancelRun } from "../../daemon/run-control.js";
import { has, parseArgs, usage } from "../args.js";
import { openHome } from "../open-home.js";

export async function cancelCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home"], booleans: ["json"] });
  const [runId] = args.positionals;
  if (!runId) throw usage("trainyard cancel needs a run id (see `trainyard runs`)");
  const ty = await openHome(args);
  const store = await openTickStore(ty);
  try {
    const result = await cancelRun(ty, store, runId);
    process.stdout.write(has(args, "json") ? `${JSON.stringify(result)}\n` : `${result.message}\n`);
    return 0;
  } finally {
    await store.close();
    await ty.close();
  }
}
