/**
 * Compile-time tests of trigger declarations, checked by `npm run typecheck` (tsc): each
 * `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
 */
import { z } from "zod";
import { pipeline } from "trainyard";

const p = pipeline("trigger-types", {
  params: z.object({ month: z.string().default("2001-01"), lr: z.number().default(0.1) }),
});

p.schedule("nightly", { cron: "0 2 * * *", params: { month: "2001-02", lr: 0.2 } });
p.sensor("landing", { folder: "landing", params: { lr: 0.3 }, settle: "2s", debounce: 500 });
p.monitor("auc", { model: "delays", metric: "auc", threshold: 0.7, coolDown: "1d" });

// @ts-expect-error a param the pipeline does not declare
p.schedule("typo", { cron: "0 2 * * *", params: { epochs: 3 } });
// @ts-expect-error a param value of the wrong type
p.sensor("wrong", { folder: "landing", params: { lr: "fast" } });
// @ts-expect-error not an overlap policy
p.schedule("policy", { cron: "0 2 * * *", overlap: "wait" });
// @ts-expect-error a duration needs a unit
p.sensor("unit", { folder: "landing", settle: "2 seconds" });
