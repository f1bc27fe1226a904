/**
 * 50 kill -9 of `trainyard up` on the flagship during the autonomy demo's loop (months landing
 * at random moments, the sample profile), each followed by a restart; then the ledger is checked:
 * no tick lost or doubled, every landed month started exactly one run, every run ended, and
 * `trainyard fsck` verifies every artifact. See test/examples/demo-kill-campaign.ts.
 *   npx tsx bench/demo-kill-campaign.ts [--kills 50] [--seed N] [--every 10]
 */
import fs from "node:fs";
import { formatDemoCampaign, runDemoKillCampaign } from "../test/examples/demo-kill-campaign.js";
import { flag } from "./support/timing.js";

const kills = Number(flag("kills", "50"));
const seed = Number(flag("seed", String(Date.now() % 100_000)));
const landEveryS = Number(flag("every", "10"));
const r = await runDemoKillCampaign({ kills, seed, landEveryS, log: (line) => process.stderr.write(`${line}\n`) });
for (const line of formatDemoCampaign(r)) console.log(line);
const ok = !r.report.problems.length && r.fsckOk;
if (ok) fs.rmSync(r.home.replace(/\/home$/, ""), { recursive: true, force: true });
else console.log(`home kept for inspection: ${r.home}`);
process.exit(ok ? 0 : 1);
