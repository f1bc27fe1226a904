/**
 * 50 kills of `trainyard daemon` (random `kill -9`, and every fifth at a named crash point) while
 * a 3-second schedule ticks and files land at random moments, each kill followed by a restart;
 * then the ledger is checked: no tick lost within the catch-up policy, none doubled, every landed
 * file set started exactly one run, every run finished (resumed or relaunched when orphaned).
 *   npx tsx bench/daemon-kill-campaign.ts [--kills 50] [--seed N]
 */
import fs from "node:fs";
import { formatCampaign, runDaemonKillCampaign } from "../test/daemon/daemon-kill-campaign.js";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const kills = arg("kills", 50);
const seed = arg("seed", Date.now() % 100_000);
const r = await runDaemonKillCampaign({ kills, seed, log: (line) => process.stderr.write(`${line}\n`) });
for (const line of formatCampaign(r)) console.log(line);
if (!r.report.problems.length) fs.rmSync(r.home.replace(/\/home$/, ""), { recursive: true, force: true });
else console.log(`home kept for inspection: ${r.home}`);
process.exit(r.report.problems.length ? 1 : 0);
