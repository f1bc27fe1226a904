/**
 * trainyard.config.ts: validated with clear CONFIG_INVALID errors naming the field and the file,
 * and stores chosen field by field with flags > environment > config > defaults.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isTrainyardError, type TrainyardError } from "../../src/core/errors.js";
import { loadConfigFile } from "../../src/engine/module-loader.js";
import { chooseStores } from "../../src/engine/store-choice.js";
import { Trainyard } from "../../src/engine/trainyard.js";
import { cli, CLI_FIXTURE } from "../cli/support.js";
import { useHomes } from "./support.js";

const homes = useHomes();

async function configError(dir: string, text: string): Promise<TrainyardError> {
  const file = path.join(dir, `trainyard.config.ts`);
  fs.writeFileSync(file, text);
  const err = await loadConfigFile(file, homes.tempDir("ty-cache-")).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTrainyardError(err)) throw new Error(`expected a TrainyardError, got ${String(err)}`);
  return err;
}

describe("config validation", () => {
  const cases: Array<{ name: string; config: string; field: string; message: RegExp; hint: RegExp }> = [
    {
      name: "a misspelt field",
      config: `{ metadta: { kind: "sqlite" } }`,
      field: "metadta",
      message: /unknown field "metadta"/,
      hint: /metadata, artifacts, executor/,
    },
    {
      name: "an unknown metadata kind",
      config: `{ metadata: { kind: "mysql" } }`,
      field: "metadata.kind",
      message: /metadata\.kind/,
      hint: /postgres/,
    },
    {
      name: "a postgres url that is no URL",
      config: `{ metadata: { kind: "postgres", url: "localhost" } }`,
      field: "metadata.url",
      message: /postgres:\/\//,
      hint: /postgres/,
    },
    {
      name: "a field inside metadata it does not take",
      config: `{ metadata: { kind: "sqlite", path: "x.db" } }`,
      field: "metadata.path",
      message: /unknown field "metadata.path"/,
      hint: /file\?/,
    },
    {
      name: "a reconnect window that is no number of milliseconds",
      config: `{ metadata: { kind: "postgres", url: "postgres://h/db", reconnectWithinMs: "2m" } }`,
      field: "metadata.reconnectWithinMs",
      message: /metadata\.reconnectWithinMs/,
      hint: /reconnectWithinMs\?: N/,
    },
    {
      name: "an executor other than local",
      config: `{ executor: { kind: "remote" } }`,
      field: "executor.kind",
      message: /executor\.kind/,
      hint: /only executor/,
    },
    {
      name: "a concurrency that is not a positive integer",
      config: `{ concurrency: 0 }`,
      field: "concurrency",
      message: /concurrency/,
      hint: /fix "concurrency"/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}, naming the field and the file`, async () => {
      const dir = homes.fixtureDir();
      const err = await configError(dir, `export default ${c.config};\n`);
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.fields.field).toBe(c.field);
      expect(err.fields.file).toBe(path.join(dir, "trainyard.config.ts"));
      expect(err.message).toContain(path.join(dir, "trainyard.config.ts"));
      expect(err.message).toMatch(c.message);
      expect(err.hint).toMatch(c.hint);
    });
  }

  it("accepts every documented field", async () => {
    const dir = homes.fixtureDir();
    const file = path.join(dir, "trainyard.config.ts");
    const config = `import { defineConfig } from "trainyard";
export default defineConfig({
  home: "state",
  metadata: { kind: "postgres", url: "postgres://u@127.0.0.1/db", schema: "ml", reconnectWithinMs: 180000 },
  artifacts: { kind: "fs", root: "objects" },
  executor: { kind: "local" },
  profiles: { ci: { n: 1 } },
  concurrency: 2,
});
`;
    fs.writeFileSync(file, config);
    const { config: loaded } = await loadConfigFile(file, homes.tempDir("ty-cache-"));
    expect(loaded.metadata).toEqual({
      kind: "postgres",
      url: "postgres://u@127.0.0.1/db",
      schema: "ml",
      reconnectWithinMs: 180000,
    });
    expect(loaded.executor).toEqual({ kind: "local" });
  });

  it("makes the CLI fail with CONFIG_INVALID before it opens anything", async () => {
    const dir = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-home-");
    fs.writeFileSync(path.join(dir, "trainyard.config.ts"), `export default { artifacts: { kind: "gcs" } };\n`);
    const r = await cli(["runs", "--home", home], home, { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("CONFIG_INVALID");
    expect(r.stderr).toContain(path.join(dir, "trainyard.config.ts"));
    expect(r.stderr).toContain("artifacts.kind");
    expect(fs.readdirSync(home)).toEqual([]);
  });
});

describe("store choice: flags > environment > config > defaults", () => {
  const configFile = "/project/trainyard.config.ts";
  const config = {
    home: "state",
    metadata: { kind: "sqlite" as const, file: "db/meta.db" },
    artifacts: { kind: "fs" as const, root: "blobs" },
  };

  it("takes the config's choices, relative to the config file, over the defaults", () => {
    const c = chooseStores({ config, configFile, env: {}, cwd: "/work" });
    expect(c.home).toBe("/project/state");
    expect(c.metadata).toEqual({ kind: "sqlite", file: "/project/db/meta.db" });
    expect(c.artifacts).toEqual({ kind: "fs", root: "/project/blobs" });
    expect(c.executor).toEqual({ kind: "local" });
    expect(c.sources).toEqual({ home: "config", metadata: "config", artifacts: "config" });
  });

  it("uses the defaults without a config: ./.trainyard with metadata.db and artifacts/ inside", () => {
    const c = chooseStores({ env: {}, cwd: "/work" });
    expect(c.home).toBe("/work/.trainyard");
    expect(c.metadata).toEqual({ kind: "sqlite", file: "/work/.trainyard/metadata.db" });
    expect(c.artifacts).toEqual({ kind: "fs", root: "/work/.trainyard/artifacts" });
    expect(c.sources).toEqual({ home: "default", metadata: "default", artifacts: "default" });
  });

  it("lets the environment beat the config, and flags beat both", () => {
    const env = { TRAINYARD_HOME: "/env-home", TRAINYARD_METADATA_URL: "postgres://env/db" };
    const byEnv = chooseStores({ config, configFile, env, cwd: "/work" });
    expect(byEnv.home).toBe("/env-home");
    expect(byEnv.metadata).toEqual({ kind: "postgres", url: "postgres://env/db" });
    expect(byEnv.sources).toMatchObject({ home: "environment", metadata: "environment" });
    const flags = { home: "flag-home", metadata: { kind: "postgres" as const, url: "postgres://flag/db" } };
    const byFlag = chooseStores({ flags, config, configFile, env, cwd: "/work" });
    expect(byFlag.home).toBe("/work/flag-home");
    expect(byFlag.metadata).toEqual({ kind: "postgres", url: "postgres://flag/db" });
    expect(byFlag.sources).toMatchObject({ home: "flag", metadata: "flag", artifacts: "config" });
  });

  it("hands an S3 store's own keys to the store, from options and from the config", async () => {
    const credentials = { accessKeyId: "key-id", secretAccessKey: "secret" };
    const s3 = { kind: "s3" as const, url: "s3://bucket/prefix", endpoint: "http://127.0.0.1:9", credentials };
    const byFlag = chooseStores({ flags: { artifacts: s3 }, env: {}, cwd: "/work" });
    expect(byFlag.artifacts).toMatchObject({ kind: "s3", url: "s3://bucket/prefix", credentials });
    const dir = homes.fixtureDir();
    const file = path.join(dir, "trainyard.config.ts");
    fs.writeFileSync(
      file,
      `export default { store: { artifacts: "s3://b/p", credentials: ${JSON.stringify(credentials)} } };\n`,
    );
    const { config: loaded } = await loadConfigFile(file, homes.tempDir("ty-cache-"));
    expect(chooseStores({ config: loaded, configFile: file, env: {} }).artifacts).toMatchObject({ credentials });
    const misspelt = await configError(
      dir,
      `export default { store: { artifacts: "s3://b/p", credentials: { id: "a" } } };\n`,
    );
    expect(misspelt.code).toBe("CONFIG_INVALID");
    expect(misspelt.message).toContain("store.credentials");
  });

  it("puts an SQLite file the config does not name into whichever home won", () => {
    const c = chooseStores({ flags: { home: "/h" }, config: { metadata: { kind: "sqlite" } }, configFile, env: {} });
    expect(c.metadata).toEqual({ kind: "sqlite", file: "/h/metadata.db" });
  });
});

describe("Trainyard.openConfigured", () => {
  it("reads --config over the module's directory, and --home over the config's home", async () => {
    const dir = homes.fixtureDir();
    const other = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-home-");
    const near = `export default { metadata: { kind: "sqlite", file: "near.db" } };\n`;
    fs.writeFileSync(path.join(dir, "trainyard.config.ts"), near);
    const chosen = `export default { home: "ignored", metadata: { kind: "sqlite", file: "chosen.db" } };\n`;
    fs.writeFileSync(path.join(other, "chosen.config.ts"), chosen);
    const ty = await Trainyard.openConfigured({ home, dir, configFile: path.join(other, "chosen.config.ts") });
    try {
      expect(ty.home).toBe(home);
      expect(ty.stores?.metadata).toEqual({ kind: "sqlite", file: path.join(other, "chosen.db") });
      const r = await ty.run(CLI_FIXTURE, { params: { n: 2 } });
      expect(r.status).toBe("succeeded");
      expect(fs.existsSync(path.join(other, "chosen.db"))).toBe(true);
      expect(fs.existsSync(path.join(home, "metadata.db"))).toBe(false);
    } finally {
      await ty.close();
    }
  });

  it("uses the config's concurrency when a run does not set one", async () => {
    const dir = homes.fixtureDir();
    const home = homes.tempDir("ty-cfg-home-");
    fs.writeFileSync(path.join(dir, "trainyard.config.ts"), `export default { concurrency: 1 };\n`);
    const mod = path.join(dir, "pipeline.ts");
    // With one slot, the two independent steps never overlap.
    fs.writeFileSync(
      mod,
      `import { pipeline } from "trainyard";
const p = pipeline("one-slot");
let running = 0, most = 0;
const work = async () => {
  most = Math.max(most, ++running);
  await new Promise((r) => setTimeout(r, 50));
  running--;
  return most;
};
p.step("a", { cache: false, run: work });
p.step("b", { cache: false, run: work });
p.step("most", { cache: false, inputs: { a: p.ref("a"), b: p.ref("b") }, run: () => most });
export default p;
`,
    );
    const ty = await Trainyard.openConfigured({ home, dir });
    try {
      const r = await ty.run(mod);
      expect(r.status, JSON.stringify(r.error)).toBe("succeeded");
      expect(await ty.output(r.runId, "most")).toBe(1);
    } finally {
      await ty.close();
    }
  });
});
