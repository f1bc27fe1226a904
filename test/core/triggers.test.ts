import { describe, expect, it } from "vitest";
import { z } from "zod";
import { pipeline } from "../../src/core/pipeline.js";
import { compileTriggers, verifyMonitorModels } from "../../src/core/triggers.js";
import { isTrainyardError } from "../../src/core/errors.js";

function make() {
  return pipeline("retrain", {
    params: z.object({ month: z.string().default("2001-01"), lr: z.number().default(0.1) }),
    profiles: { prod: { lr: 0.05 } },
  });
}

/** The TrainyardError a declaration throws, so each test can check code, trigger and field. */
interface DeclarationError {
  code: string;
  message: string;
  trigger?: unknown;
  field?: unknown;
  hint?: string;
}

function errorOf(fn: () => unknown): DeclarationError {
  try {
    fn();
  } catch (err) {
    if (!isTrainyardError(err)) throw err;
    const { trigger, field } = err.fields;
    return { code: String(err.code), message: err.message, trigger, field, hint: err.hint };
  }
  throw new Error("expected the declaration to throw");
}

describe("trigger declarations", () => {
  it("compiles schedules, sensors and monitors with their defaults filled", () => {
    const p = make()
      .schedule("nightly", { cron: "30 2 * * *", timezone: "America/Chicago", params: { lr: 0.2 } })
      .sensor("landing", { folder: "landing", glob: "*.parquet", profile: "prod" })
      .monitor("auc-drop", { model: "delays", metric: "auc", threshold: 0.7 });
    const [s, f, m] = compileTriggers(p);
    expect(s).toMatchObject({
      kind: "schedule",
      name: "nightly",
      cron: "30 2 * * *",
      timezone: "America/Chicago",
      catchUp: "latest",
      maxCatchUp: 5,
      overlap: "skip",
      lateAfterMs: 60_000,
      params: { lr: 0.2 },
    });
    expect(f).toMatchObject({
      kind: "sensor",
      source: "files",
      folder: "landing",
      glob: "*.parquet",
      settleMs: 1000,
      debounceMs: 2000,
      onSameContent: "ignore",
      profile: "prod",
      params: {},
    });
    expect(m).toMatchObject({
      kind: "monitor",
      model: "delays",
      alias: "production",
      direction: "below",
      windows: 3,
      minLabelledRows: 100,
      windowMs: 3_600_000,
      coolDownMs: 6 * 3_600_000,
      hysteresis: 0,
    });
  });

  it("defaults the time zone to UTC and parses start and end with their offsets", () => {
    const p = make().schedule("hourly", {
      cron: "0 * * * *",
      start: "2019-03-10T00:00:00-06:00",
      end: new Date(Date.UTC(2019, 3, 1)),
    });
    const [s] = compileTriggers(p);
    expect(s).toMatchObject({ timezone: "UTC", start: Date.UTC(2019, 2, 10, 6), end: Date.UTC(2019, 3, 1) });
  });

  it("rejects an invalid cron at load time, naming the trigger", () => {
    for (const cron of ["61 * * * *", "* * * *", "61 0 * * * *", "0 0 0 * * * *", "every day"]) {
      const e = errorOf(() => make().schedule("nightly", { cron }));
      expect(e).toMatchObject({ code: "TRIGGER_INVALID", trigger: "nightly", field: "cron" });
      expect(e.message).toContain('trigger "nightly"');
    }
  });

  it("rejects an unknown time zone with the zone's name", () => {
    const e = errorOf(() => make().schedule("nightly", { cron: "0 2 * * *", timezone: "America/Chicagoo" }));
    expect(e).toMatchObject({ code: "TRIGGER_INVALID", trigger: "nightly", field: "timezone" });
    expect(e.message).toContain("America/Chicagoo");
  });

  it("rejects params the pipeline does not declare, and values of the wrong type", () => {
    const unknown = errorOf(() => make().sensor("landing", { folder: "in", params: { epochs: 3 } as never }));
    expect(unknown).toMatchObject({ code: "TRIGGER_INVALID", trigger: "landing", field: "params" });
    expect(unknown.message).toContain('"epochs"');
    expect(unknown.hint).toContain("month, lr");
    const wrongType = errorOf(() => make().schedule("nightly", { cron: "0 2 * * *", params: { lr: "fast" } as never }));
    expect(wrongType).toMatchObject({ code: "TRIGGER_INVALID", trigger: "nightly" });
    expect(wrongType.message).toContain('"lr"');
    const profile = errorOf(() => make().schedule("nightly", { cron: "0 2 * * *", profile: "staging" }));
    expect(profile).toMatchObject({ trigger: "nightly", field: "profile" });
  });

  it("rejects bad policies, durations, instants and duplicate names", () => {
    const cron = "0 2 * * *";
    const monitor = { model: "delays", metric: "auc", threshold: 0.7 };
    const cases: Array<[() => unknown, Partial<DeclarationError>]> = [
      [() => make().schedule("a", { cron, catchUp: "some" as never }), { field: "catchUp" }],
      [() => make().schedule("a", { cron, overlap: "wait" as never }), { field: "overlap" }],
      [() => make().schedule("a", { cron, catchUp: "all", maxCatchUp: 0 }), { field: "maxCatchUp" }],
      [() => make().schedule("a", { cron, start: "2019-03-10T00:00" }), { field: "start" }],
      [() => make().schedule("a", { cron, start: "2020-01-01T00:00Z", end: "2019-01-01T00:00Z" }), { field: "end" }],
      [() => make().sensor("s", { folder: "in", settle: "soon" as never }), { field: "settle" }],
      [() => make().sensor("s", { folder: "in", glob: "../elsewhere/*" }), { field: "glob" }],
      [() => make().monitor("m", { ...monitor, threshold: Number.NaN }), { field: "threshold" }],
      [() => make().monitor("m", { ...monitor, windows: 0 }), { field: "windows" }],
      [() => make().schedule("a", { cron }).sensor("a", { folder: "in" }), { trigger: "a" }],
      [() => make().schedule("1st", { cron }), { trigger: "1st" }],
    ];
    for (const [declare, expected] of cases) {
      expect(errorOf(declare)).toMatchObject({ code: "TRIGGER_INVALID", ...expected });
    }
  });

  it("checks that a monitor watches a model that exists, once the model names are known", () => {
    const p = make().monitor("auc-drop", { model: "delays", metric: "auc", threshold: 0.7 });
    expect(() => verifyMonitorModels(compileTriggers(p), ["delays", "churn"])).not.toThrow();
    const e = errorOf(() => verifyMonitorModels(compileTriggers(p), ["churn"]));
    expect(e).toMatchObject({ code: "TRIGGER_INVALID", trigger: "auc-drop", field: "model" });
    expect(e.hint).toContain("churn");
  });
});
