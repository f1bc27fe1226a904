/** `trainyard gc`. */
import { has, intFlag, one, parseArgs, usage } from "../args.js";
import { bytes } from "../format.js";
import { openHome } from "../open-home.js";

export async function gcCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["home", "keep-last", "older-than"], booleans: ["dry-run", "json"] });
  const older = one(args, "older-than");
  let olderThanMs: number | undefined;
  if (older !== undefined) {
    const m = /^(\d+)([dh])$/.exec(older);
    if (!m) throw usage(`--older-than expects a number of days or hours such as 30d or 12h, got "${older}"`);
    olderThanMs = Number(m[1]) * (m[2] === "d" ? 86_400_000 : 3_600_000);
  }
  const ty = await openHome(args);
  try {
    const r = await ty.gc({ keepLast: intFlag(args, "keep-last"), olderThanMs, dryRun: has(args, "dry-run") });
    if (has(args, "json")) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      const verb = has(args, "dry-run") ? "would remove" : "removed";
      process.stdout.write(`${verb} ${r.runsRemoved.length} runs and ${r.artifactsRemoved} artifacts (${bytes(r.bytesFreed)}), ${r.tempRemoved} temp files\n`);
    }
    return 0;
  } finally {
    await ty.close();
  }
}
