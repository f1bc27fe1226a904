import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { rejectionOf, stepOf, useHomes } from "./support.js";

const homes = useHomes();

const ISOLATED_MODULE = `import { pipeline } from "trainyard";
const p = pipeline("two-homes");
p.step("where", { isolate: true, run: () => process.pid });
export default p;
`;

describe("pipeline modules", () => {
  it("load and run by path, recording the module and its code version", async () => {
    const { ty } = await homes.open();
    const dir = homes.fixtureDir();
    const mod = path.join(dir, "ok.ts");
    fs.writeFileSync(
      mod,
      `import { pipeline } from "trainyard";\nconst p = pipeline("ok");\np.step("one", { run: ` +
        `() => 1 });\nexport default p;\n`,
    );
    const r = await ty.run(mod);
    expect(r.status).toBe("succeeded");
    const run = await ty.metadata.getRun(r.runId);
    expect(run!.modulePath).toBe(mod);
    expect(run!.codeVersion).toMatch(/^[0-9a-f]{64}$/);
  });

  it("run isolated steps from a second home after the home that first loaded the module is gone", async () => {
    const dir = homes.fixtureDir();
    const mod = path.join(dir, "two-homes.ts");
    fs.writeFileSync(mod, ISOLATED_MODULE);
    const a = await homes.open();
    expect((await a.ty.run(mod)).status).toBe("succeeded");
    await a.ty.close();
    fs.rmSync(a.home, { recursive: true, force: true });

    const b = await homes.open();
    const r = await b.ty.run(mod);
    expect(stepOf(r, "where").error?.message).toBeUndefined();
    expect(r.status).toBe("succeeded");
  });

  describe("are bundled into the user's module cache", () => {
    const withCacheDir = async (dir: string, body: () => Promise<void>) => {
      const before = process.env.TRAINYARD_CACHE_DIR;
      process.env.TRAINYARD_CACHE_DIR = dir;
      try {
        await body();
      } finally {
        if (before === undefined) delete process.env.TRAINYARD_CACHE_DIR;
        else process.env.TRAINYARD_CACHE_DIR = before;
      }
    };
    const bundles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".mjs")) : []);

    it("which a fresh home reuses without bundling again, and an edit replaces", async () => {
      const cache = homes.tempDir("ty-modcache-");
      const mod = path.join(homes.fixtureDir(), "shared.ts");
      fs.writeFileSync(
        mod,
        `import { pipeline } from "trainyard";\nconst p = pipeline("shared");\np.step("one", { run: ` +
          `() => 1 });\nexport default p;\n`,
      );
      await withCacheDir(cache, async () => {
        const a = await homes.open();
        expect((await a.ty.run(mod)).status).toBe("succeeded");
        const [bundle] = bundles(path.join(cache, "modules"));
        expect(bundle).toBeDefined();
        expect(fs.existsSync(path.join(a.home, "cache", "modules"))).toBe(false);
        const index = fs.readdirSync(path.join(cache, "modules")).find((f) => f.endsWith(".json"))!;
        const indexed = fs.statSync(path.join(cache, "modules", index)).mtimeMs;

        const b = await homes.open();
        const r = await b.ty.run(mod);
        expect(r.status).toBe("succeeded");
        // Same bundle, and its index entry was read, not written again.
        expect(bundles(path.join(cache, "modules"))).toEqual([bundle]);
        expect(fs.statSync(path.join(cache, "modules", index)).mtimeMs).toBe(indexed);
        expect(bundle).toBe(`${(await b.ty.metadata.getRun(r.runId))!.codeVersion!.slice(0, 32)}.mjs`);

        fs.writeFileSync(
          mod,
          `import { pipeline } from "trainyard";\nconst p = pipeline("shared");\np.step("one", { run: ` +
            `() => 2 });\nexport default p;\n`,
        );
        const c = await homes.open();
        const edited = await c.ty.run(mod);
        expect(edited.status).toBe("succeeded");
        expect(await c.ty.metadata.getRun(edited.runId).then((x) => x!.codeVersion)).not.toBe(
          (await b.ty.metadata.getRun(r.runId))!.codeVersion,
        );
        expect(bundles(path.join(cache, "modules"))).toHaveLength(2);
      });
    });

    it("or, when that cannot be written, into the home's own cache", async () => {
      const blocker = path.join(homes.tempDir("ty-modcache-"), "a-file");
      fs.writeFileSync(blocker, "not a directory");
      const mod = path.join(homes.fixtureDir(), "fallback.ts");
      fs.writeFileSync(
        mod,
        `import { pipeline } from "trainyard";\nconst p = pipeline("fallback");\np.step("one", { run: ` +
          `() => 1 });\nexport default p;\n`,
      );
      await withCacheDir(path.join(blocker, "cache"), async () => {
        const { ty, home } = await homes.open();
        expect((await ty.run(mod)).status).toBe("succeeded");
        expect(bundles(path.join(home, "cache", "modules"))).toHaveLength(1);
      });
    });
  });

  describe("malformed modules fail with MODULE_LOAD naming the file, and are recorded as failed runs", () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        "a syntax error",
        `import { pipeline } from "trainyard";\nconst p = pipeline("bad";\nexport default p;\n`,
        /does not compile/,
      ],
      [
        "no default export",
        `import { pipeline } from "trainyard";\nexport const p = pipeline("nodefault");\n`,
        /does not default-export a pipeline/,
      ],
      [
        "a default export that is not a pipeline",
        `export default { name: "fake", steps: [] };\n`,
        /does not default-export a pipeline/,
      ],
      [
        "an error thrown at import",
        `import { pipeline } from "trainyard";\nconst p = pipeline("throws");\nthrow ` +
          `new Error("boom while importing");\nexport default p;\n`,
        /boom while importing/,
      ],
      [
        "a missing package",
        `import { pipeline } from "trainyard";\nimport ` +
          `"no-such-package-xyz";\nexport default pipeline("missing-pkg");\n`,
        /no-such-package-xyz/,
      ],
    ];
    for (const [what, text, message] of cases) {
      it(`with ${what}`, async () => {
        const { ty } = await homes.open();
        const dir = homes.fixtureDir();
        const mod = path.join(dir, "broken.ts");
        fs.writeFileSync(mod, text);
        const err = await rejectionOf(ty.run(mod));
        expect(err.code).toBe("MODULE_LOAD");
        expect(err.message).toContain(mod);
        expect(err.message).toMatch(message);
        expect(err.hint).toBeTruthy();
        expect(err.fields?.file).toBe(mod);
        const runs = await ty.metadata.listRuns();
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ status: "failed", modulePath: mod });
        expect(runs[0].error?.code).toBe("MODULE_LOAD");
        expect(err.fields?.runId).toBe(runs[0].id);
      });
    }

    it("with a path that does not exist", async () => {
      const { ty } = await homes.open();
      const missing = path.join(homes.tempDir(), "nowhere", "pipeline.ts");
      const err = await rejectionOf(ty.run(missing));
      expect(err.code).toBe("MODULE_LOAD");
      expect(err.message).toContain(missing);
      expect(err.hint).toMatch(/default-exports a pipeline/);
      expect((await ty.metadata.listRuns())[0]).toMatchObject({ status: "failed" });
    });
  });
});
