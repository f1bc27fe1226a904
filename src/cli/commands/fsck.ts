/** `trainyard fsck [--repair] [--json]`: checks every stored object and every reference to one. */
import { checkStore, type FsckProblem } from "../../engine/fsck.js";
import { has, type ParsedArgs } from "../args.js";
import { bytes } from "../format.js";
import { openHome } from "../open-home.js";
import { shortDigest } from "../../core/hash.js";

export async function fsckCommand(args: ParsedArgs): Promise<number> {
  const ty = await openHome(args);
  try {
    const r = await checkStore(ty, { repair: has(args, "repair") });
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return r.ok ? 0 : 1;
    }
    const rate = r.seconds > 0 ? `${bytes(r.bytes / r.seconds)}/s` : "-";
    const out = [
      `checked ${r.objects} objects (${bytes(r.bytes)}) in ${r.seconds.toFixed(2)} s (${rate}), ` +
        `${r.records} artifact records, ${r.stepRuns} step runs, ${r.modelVersions} model versions`,
    ];
    const list = (title: string, problems: FsckProblem[]) => {
      out.push(`${title}: ${problems.length}`);
      for (const p of problems.slice(0, 50)) {
        const namedBy = p.referencedBy ? ` (named by ${p.referencedBy})` : "";
        out.push(`  ${shortDigest(p.digest)} ${p.detail}${namedBy}${p.path ? ` ${p.path}` : ""}`);
      }
      if (problems.length > 50) out.push(`  ... and ${problems.length - 50} more (--json lists all)`);
    };
    list("corrupt objects", r.corrupt);
    list("missing references", r.missing);
    out.push(
      `orphans: ${r.orphans.length}${r.orphans.length ? " (no record names them; `trainyard gc` removes them)" : ""}`,
    );
    if (r.repaired)
      out.push(
        `repaired: ${r.repaired.quarantined} objects quarantined, ${r.repaired.recordsInvalidated} records no ` +
          `longer reusable`,
      );
    if (r.ok) out.push("store is clean");
    else if (r.repaired)
      out.push("damage found and repaired: the next run or `trainyard resume` recomputes what was lost");
    else out.push("damage found: run `trainyard fsck --repair`, then resume or re-run to recompute what was lost");
    process.stdout.write(`${out.join("\n")}\n`);
    return r.ok ? 0 : 1;
  } finally {
    await ty.close();
  }
}
