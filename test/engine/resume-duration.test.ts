/** A resumed run reports its working time, not the idle time between the failure and the resume. */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { engineBackends, useBackendHomes } from "./engine-backends.js";

for (const backend of engineBackends()) {
  backend.describe(`on ${backend.label} metadata`, () => {
    const homes = useBackendHomes(backend);
    const HOUR = 3_600_000;

    describe("resume", () => {
      it("reports the time spent working before and after the interruption", async () => {
        const { ty } = await homes.open();
        const dir = homes.tempDir("ty-resume-duration-");
        const module = join(dir, "pipeline.ts");
        writeFileSync(
          module,
          `import { existsSync } from "node:fs";
    import { pipeline } from "trainyard";
    const p = pipeline("resume-duration");
    const first = p.step("first", { run: () => 1 });
    p.step("second", {
      inputs: { first },
      run: (_ctx, { first }) => {
        if (!existsSync(${JSON.stringify(join(dir, "ok"))})) throw new Error("not yet");
        return first + 1;
      },
    });
    export default p;
    `,
        );
        const failed = await ty.run(module);
        expect(failed.status).toBe("failed");
        const record = (await ty.metadata.getRun(failed.runId))!;
        const worked = record.finishedAt! - record.startedAt!;
        // The run failed an hour ago, as far as its record says.
        await ty.metadata.updateRun(failed.runId, {
          startedAt: record.startedAt! - HOUR,
          finishedAt: record.finishedAt! - HOUR,
        });
        writeFileSync(join(dir, "ok"), "");
        expect(existsSync(join(dir, "ok"))).toBe(true);
        const resumed = await ty.resume(failed.runId);
        expect(resumed.status).toBe("succeeded");
        expect(resumed.durationMs).toBeGreaterThanOrEqual(worked);
        expect(resumed.durationMs).toBeLessThan(HOUR / 2);
      });
    });
  });
}
