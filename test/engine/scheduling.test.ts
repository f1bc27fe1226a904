import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pipeline } from "../../src/index.js";
import { overlapOf, sleep, stepOf } from "./support.js";
import { engineBackends, useBackendHomes } from "./engine-backends.js";

for (const backend of engineBackends()) {
  backend.describe(`on ${backend.label} metadata`, () => {
    const homes = useBackendHomes(backend);

    describe("scheduling", () => {
      it("starts every step only after all the steps it reads have finished", async () => {
        const { ty } = await homes.open();
        const log: string[] = [];
        const p = pipeline("order");
        const track = async (id: string, ms: number) => {
          log.push(`start ${id}`);
          await sleep(ms);
          log.push(`end ${id}`);
          return id;
        };
        const a = p.step("a", { run: () => track("a", 20) });
        const b = p.step("b", { inputs: { a }, run: () => track("b", 30) });
        const c = p.step("c", { inputs: { a }, run: () => track("c", 5) });
        const d = p.step("d", { inputs: { b, c }, run: (_ctx, i) => track("d", 1).then(() => `${i.b}+${i.c}`) });
        p.step("e", { inputs: { d, a }, run: (_ctx, i) => i.d });
        const result = await ty.run(p, { concurrency: 4 });
        expect(result.status).toBe("succeeded");
        const at = (e: string) => {
          const i = log.indexOf(e);
          expect(i, `${e} in ${log.join(", ")}`).toBeGreaterThanOrEqual(0);
          return i;
        };
        expect(at("start b")).toBeGreaterThan(at("end a"));
        expect(at("start c")).toBeGreaterThan(at("end a"));
        expect(at("start d")).toBeGreaterThan(at("end b"));
        expect(at("start d")).toBeGreaterThan(at("end c"));
        expect(await ty.output(result.runId, "e")).toBe("b+c");
      });

      it("never runs more steps at once than the concurrency limit, and does use it", async () => {
        const { ty } = await homes.open();
        let running = 0;
        let max = 0;
        const p = pipeline("concurrency");
        for (let i = 0; i < 6; i++) {
          p.step(`s${i}`, {
            run: async () => {
              running++;
              max = Math.max(max, running);
              await sleep(60);
              running--;
              return i;
            },
          });
        }
        const result = await ty.run(p, { concurrency: 2 });
        expect(result.status).toBe("succeeded");
        expect(max).toBe(2);

        let running1 = 0;
        let max1 = 0;
        const q = pipeline("concurrency-one");
        for (let i = 0; i < 4; i++) {
          q.step(`s${i}`, {
            run: async () => {
              running1++;
              max1 = Math.max(max1, running1);
              await sleep(20);
              running1--;
              return i;
            },
          });
        }
        expect((await ty.run(q, { concurrency: 1 })).status).toBe("succeeded");
        expect(max1).toBe(1);
      });

      it(
        "stages shell commands beyond the limit but never runs more at once, " + "and times each from its real start",
        async () => {
          const { ty } = await homes.open();
          const dir = homes.tempDir();
          const log = path.join(dir, "log");
          const p = pipeline("staged");
          for (let c = 0; c < 4; c++) {
            let prev: ReturnType<typeof p.command<{ out: "file" }>> | undefined;
            for (let s = 0; s < 8; s++) {
              prev = p.command(`c${c}_s${s}`, {
                inputs: prev ? { prev: prev.pick("out") } : {},
                run:
                  `echo "start c${c}_s${s}" >> ${log}; echo c${c} s${s} > $TRAINYARD_OUT/out; ` +
                  `echo "end c${c}_s${s}" >> ${log}`,
                outputs: { out: "file" },
              });
            }
          }
          const r = await ty.run(p, { concurrency: 2 });
          expect(r.status).toBe("succeeded");
          const { lines, most } = overlapOf(log);
          expect(lines).toHaveLength(64);
          expect(most).toBeLessThanOrEqual(2);
          for (const s of await ty.metadata.listStepRuns(r.runId)) {
            expect(s.status).toBe("succeeded");
            expect(s.finishedAt! - s.startedAt!).toBeGreaterThanOrEqual(0);
            expect(s.durationMs).toBe(s.finishedAt! - s.startedAt!);
          }
          // Each chain's steps ran in order.
          for (let c = 0; c < 4; c++) {
            const order = lines.filter((l) => l.startsWith(`start c${c}_`)).map((l) => Number(l.split("_s")[1]));
            expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
          }
        },
      );

      it("keeps to the limit when steps are retried while others are staged", async () => {
        const { ty } = await homes.open();
        const dir = homes.tempDir();
        const log = path.join(dir, "log");
        const p = pipeline("staged-retry");
        for (let c = 0; c < 4; c++) {
          let prev: ReturnType<typeof p.command<{ out: "file" }>> | undefined;
          for (let s = 0; s < 8; s++) {
            const id = `c${c}_s${s}`;
            // Every third step fails its first attempt.
            const tried = `${dir}/${id}.tried`;
            const failOnce =
              (c + s) % 3 === 0
                ? `if [ ! -e ${tried} ]; then : > ${tried}; echo "end ${id}" >> ${log}; exit 1; fi; `
                : "";
            prev = p.command(id, {
              inputs: prev ? { prev: prev.pick("out") } : {},
              run:
                `echo "start ${id}" >> ${log}; ${failOnce}echo ${id} > $TRAINYARD_OUT/out; ` +
                `echo "end ${id}" >> ${log}`,
              outputs: { out: "file" },
              retry: { attempts: 2, initialDelayMs: 0, jitter: 0 },
            });
          }
        }
        const r = await ty.run(p, { concurrency: 2 });
        expect(r.status).toBe("succeeded");
        const { lines, most } = overlapOf(log);
        expect(lines.filter((l) => l.startsWith("start"))).toHaveLength(32 + 11);
        expect(most).toBeLessThanOrEqual(2);
      });

      it("hands a step's slot on once its work is done, while its output is still being stored", async () => {
        const { ty } = await homes.open();
        const ended: Record<string, number> = {};
        const started: Record<string, number> = {};
        const p = pipeline("slot-handover");
        // A 96 MiB output: storing it (hashing) takes a while after the function has returned.
        p.step("big", {
          run: (ctx) => {
            started.big = Date.now();
            fs.writeFileSync(path.join(ctx.workdir, "big.bin"), Buffer.alloc(96 << 20, 7));
            ended.big = Date.now();
            return ctx.file("big.bin");
          },
        });
        p.step("next", {
          run: () => {
            started.next = Date.now();
            ended.next = Date.now();
            return 1;
          },
        });
        const r = await ty.run(p, { concurrency: 1 });
        expect(r.status).toBe("succeeded");
        // Ties go in definition order: big first. Never two steps' work at once with one slot...
        expect(started.next).toBeGreaterThanOrEqual(ended.big);
        // ...but the next step ran before the big output was stored and its run recorded as finished.
        const big = await ty.metadata.getStepRun(`${r.runId}:big`);
        expect(started.next).toBeLessThan(big!.finishedAt!);
      });

      it("limits the steps of a pool to the pool's size while other steps keep running", async () => {
        const { ty } = await homes.open();
        const now = { gpu: 0, disk: 0, all: 0 };
        const max = { gpu: 0, disk: 0, all: 0 };
        const enter = (pool: "gpu" | "disk" | "none") => {
          if (pool !== "none") max[pool] = Math.max(max[pool], ++now[pool]);
          max.all = Math.max(max.all, ++now.all);
        };
        const leave = (pool: "gpu" | "disk" | "none") => {
          if (pool !== "none") now[pool]--;
          now.all--;
        };
        const p = pipeline("pools", { pools: { gpu: 1, disk: 2 } });
        const add = (id: string, pool: "gpu" | "disk" | "none") =>
          p.step(id, {
            pool: pool === "none" ? undefined : pool,
            run: async () => {
              enter(pool);
              await sleep(50);
              leave(pool);
              return id;
            },
          });
        for (let i = 0; i < 3; i++) add(`train${i}`, "gpu");
        for (let i = 0; i < 4; i++) add(`io${i}`, "disk");
        for (let i = 0; i < 2; i++) add(`cpu${i}`, "none");
        const result = await ty.run(p, { concurrency: 8 });
        expect(result.status).toBe("succeeded");
        expect(max.gpu).toBe(1);
        expect(max.disk).toBe(2);
        expect(max.all).toBeGreaterThan(2);
      });

      it("rejects a step naming a pool the pipeline does not declare", async () => {
        const { ty } = await homes.open();
        const p = pipeline("bad-pool", { pools: { gpu: 1 } });
        p.step("a", { pool: "tpu", run: () => 1 });
        await expect(ty.run(p)).rejects.toMatchObject({
          code: "PIPELINE_INVALID",
          message: expect.stringContaining("tpu"),
        });
      });

      describe("longest remaining path first, with one slot", () => {
        function build(order: string[], slowFirst = false) {
          const p = pipeline("priority");
          const mark = (id: string) => () => {
            order.push(id);
            return id;
          };
          const slow = () =>
            p.step("slow", {
              run: async () => {
                order.push("slow");
                // Long enough that a quick step slowed by a loaded machine still records under a third of it.
                await sleep(400);
                return "slow";
              },
            });
          if (slowFirst) slow();
          // A chain of three quick steps.
          const q1 = p.step("quick1", { run: mark("quick1") });
          const q2 = p.step("quick2", { inputs: { q1 }, run: mark("quick2") });
          p.step("quick3", { inputs: { q2 }, run: mark("quick3") });
          if (!slowFirst) slow();
          return p;
        }

        it("without history, starts the longer chain first even when it is defined last", async () => {
          const { ty } = await homes.open();
          const order: string[] = [];
          await ty.run(build(order, true), { concurrency: 1 });
          expect(order[0]).toBe("quick1");
        });

        it("with recorded durations, starts the slow step before the quick chain", async () => {
          const { ty } = await homes.open();
          const first: string[] = [];
          const r1 = await ty.run(build(first), { concurrency: 1 });
          expect(r1.status).toBe("succeeded");
          expect(stepOf(r1, "slow").durationMs).toBeGreaterThanOrEqual(100);
          const durations = await ty.metadata.stepDurations("priority");
          expect(durations.get("slow")).toBeGreaterThan(
            3 * Math.max(durations.get("quick1")!, durations.get("quick2")!, durations.get("quick3")!, 1),
          );

          const second: string[] = [];
          const r2 = await ty.run(build(second), { concurrency: 1, force: true });
          expect(r2.status).toBe("succeeded");
          expect(second).toEqual(["slow", "quick1", "quick2", "quick3"]);
        });

        it("picks the longest remaining path among steps waiting for the slot", async () => {
          const { ty } = await homes.open();
          const order: string[] = [];
          const p = pipeline("priority-queue");
          const mark = (id: string) => () => {
            order.push(id);
            return id;
          };
          // `blocker` holds the only slot while `root` finishes and its children queue up.
          const root = p.step("root", { run: mark("root") });
          p.step("blocker", {
            run: async () => {
              order.push("blocker");
              await sleep(100);
              return 0;
            },
          });
          p.step("leaf", { inputs: { root }, run: mark("leaf") });
          const c1 = p.step("chain1", { inputs: { root }, run: mark("chain1") });
          const c2 = p.step("chain2", { inputs: { c1 }, run: mark("chain2") });
          p.step("chain3", { inputs: { c2 }, run: mark("chain3") });
          const result = await ty.run(p, { concurrency: 1 });
          expect(result.status).toBe("succeeded");
          expect(order.indexOf("chain1")).toBeLessThan(order.indexOf("leaf"));
        });
      });
    });
  });
}
