/** Function sensors: a user's evaluate function with its own cursor, keys deduplicated, failures named. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, type CompiledTrigger, type FunctionSensorSpec } from "../../src/core/triggers.js";
import { evaluateTrigger, type TriggerEvaluation } from "../../src/daemon/evaluate-trigger.js";
import { rejectionOf, useHomes } from "../engine/support.js";

const homes = useHomes();
type Params = { month: string; lr: number };
const params = z.object({ month: z.string().default("2001-01"), lr: z.number().default(0.1) });

function sensorOf(spec: FunctionSensorSpec<Params>): CompiledTrigger {
  const p = pipeline("monthly", { params });
  p.step("train", { params: ["month"], run: (ctx) => ctx.params.month });
  return compileTriggers(p.sensor("months", spec))[0];
}

async function evaluate(t: CompiledTrigger, cursor: unknown, now = Date.now()): Promise<TriggerEvaluation> {
  const r = await evaluateTrigger(t, cursor, now, { moduleDir: process.cwd() });
  return JSON.parse(JSON.stringify(r)) as TriggerEvaluation;
}

describe("function sensor", () => {
  it("turns the keys a function returns into run requests, hands its cursor back and deduplicates keys", async () => {
    const months = ["2001-01", "2001-02", "2001-03"];
    const seenCursors: unknown[] = [];
    const t = sensorOf({
      params: { lr: 0.2 },
      // Returns every month up to the cursor's position + 2, and deliberately repeats the last one.
      evaluate: ({ cursor, now }) => {
        seenCursors.push(cursor);
        const from = typeof cursor === "number" ? cursor : 0;
        const batch = months.slice(Math.max(0, from - 1), from + 2);
        return {
          requests: batch.map((m) => ({
            key: m,
            params: { month: m },
            reason: `month ${m} closed at ${now.toISOString()}`,
          })),
          cursor: from + 2,
        };
      },
    });
    const at = Date.parse("2026-01-01T00:00:00Z");
    const first = await evaluate(t, null, at);
    expect(first.requests.map((r) => [r.key, r.params])).toEqual([
      ["sensor:months:2001-01", { lr: 0.2, month: "2001-01" }],
      ["sensor:months:2001-02", { lr: 0.2, month: "2001-02" }],
    ]);
    expect(first.requests[0].reason).toBe('sensor "months": month 2001-01 closed at 2026-01-01T00:00:00.000Z');
    const second = await evaluate(t, first.cursor, at + 1_000);
    expect(seenCursors).toEqual([undefined, 2]);
    expect(second.requests.map((r) => r.key)).toEqual(["sensor:months:2001-03"]);
    expect(second.skips).toEqual([
      { reason: "duplicate-key", message: 'key(s) "2001-02" already requested: no run for them' },
    ]);
    const third = await evaluate(t, second.cursor, at + 2_000);
    expect(third.requests).toEqual([]);
    expect(third.nextWakeAt).toBe(at + 2_000 + 30_000);
  });

  it("keeps the previous cursor when the function returns none, and records its reason for no run", async () => {
    let calls = 0;
    const t = sensorOf({
      interval: "5s",
      evaluate: ({ cursor }) => {
        calls++;
        const etag = (cursor as { etag?: string } | undefined)?.etag;
        return calls === 1 ? { cursor: { etag: "abc" } } : { skipReason: `nothing new since etag ${etag}` };
      },
    });
    const first = await evaluate(t, null);
    const second = await evaluate(t, first.cursor);
    expect(second.skips).toEqual([{ reason: "function-skip", message: "nothing new since etag abc" }]);
    expect((second.cursor as { user: unknown }).user).toEqual({ etag: "abc" });
  });

  it("passes the last run this sensor started, from the engine's run records", async () => {
    const { ty } = await homes.open();
    const p = pipeline("monthly", { params });
    p.step("train", { params: ["month"], run: (ctx) => ctx.params.month });
    let lastRun: unknown = "not called";
    p.sensor("months", { evaluate: (ctx) => ((lastRun = ctx.lastRun), {}) });
    const [t] = compileTriggers(p);
    const manual = await ty.run(p, { params: { month: "2001-04" } });
    const byDaemon = await ty.run(p, { params: { month: "2001-05" }, trigger: "sensor:months" });
    await ty.run(p, { params: { month: "2001-06" }, trigger: "schedule:nightly" });
    expect(manual.status).toBe("succeeded");
    await evaluateTrigger(t, null, Date.now(), { moduleDir: ".", runs: ty, pipeline: "monthly" });
    expect(lastRun).toEqual(
      expect.objectContaining({
        id: byDaemon.runId,
        status: "succeeded",
        params: { month: "2001-05", lr: 0.1 },
      }),
    );
  });

  it("reports a function that throws as a failed evaluation naming the trigger, with its error", async () => {
    const t = sensorOf({
      evaluate: () => {
        throw new Error("warehouse API answered 503");
      },
    });
    const err = await rejectionOf(evaluateTrigger(t, null, Date.now(), { moduleDir: "." }));
    expect(err.code).toBe("TRIGGER_FAILED");
    expect(err.message).toBe('sensor "months": its evaluate function threw: warehouse API answered 503');
    expect(err.fields?.trigger).toBe("months");
    expect(((err as unknown as Error).cause as Error).message).toBe("warehouse API answered 503");
  });

  it("refuses malformed results and invalid params with the trigger's name", async () => {
    const cases: Array<[FunctionSensorSpec<Params>["evaluate"], RegExp]> = [
      [() => "yes" as never, /returned a string, not an object/],
      [() => ({ requests: [{ key: "" }] }), /request 0 without a key/],
      [
        () => ({ requests: [{ key: "k", params: { month: 3 as never } }] }),
        /request "k" asks for an invalid run: param "month" is invalid/,
      ],
      [
        () => ({ requests: [{ key: "k", params: { epochs: 3 } as never }] }),
        /request "k" asks for an invalid run: unknown param "epochs"/,
      ],
      [() => ({ cursor: 10n }), /a cursor that is not JSON/],
    ];
    for (const [evaluate, message] of cases) {
      const err = await rejectionOf(evaluateTrigger(sensorOf({ evaluate }), null, Date.now(), { moduleDir: "." }));
      expect(err.code).toBe("TRIGGER_FAILED");
      expect(err.message).toMatch(/^sensor "months": /);
      expect(err.message).toMatch(message);
    }
  });
});
