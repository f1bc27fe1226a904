/** Choosing S3 for artifacts: from trainyard.config.ts (`store` or `artifacts`), and from the environment. */
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/engine/config-schema.js";
import { chooseStores } from "../../src/engine/store-choice.js";

describe("an S3 artifact store chosen by name", () => {
  it("reads store: { artifacts: s3://..., endpoint } from the config, with the cache in the home", () => {
    const config = validateConfig(
      { store: { artifacts: "s3://models/team-a", endpoint: "http://127.0.0.1:9000", region: "eu-west-1" } },
      "/p/trainyard.config.ts",
    );
    const c = chooseStores({ config, configFile: "/p/trainyard.config.ts", env: {}, cwd: "/w" });
    expect(c.artifacts).toEqual({
      kind: "s3",
      url: "s3://models/team-a",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
      cacheDir: "/w/.trainyard/object-cache",
    });
    expect(c.sources.artifacts).toBe("config");
  });

  it("keeps a directory in store.artifacts a local store, relative to the config file", () => {
    const config = validateConfig({ store: { artifacts: "blobs" } }, "/p/trainyard.config.ts");
    const c = chooseStores({ config, configFile: "/p/trainyard.config.ts", env: {}, cwd: "/w" });
    expect(c.artifacts).toEqual({ kind: "fs", root: "/p/blobs" });
  });

  it("lets TRAINYARD_ARTIFACTS and TRAINYARD_S3_ENDPOINT beat the config", () => {
    const config = validateConfig({ artifacts: { kind: "fs", root: "blobs" } }, "/p/trainyard.config.ts");
    const env = { TRAINYARD_ARTIFACTS: "s3://b/p", TRAINYARD_S3_ENDPOINT: "http://127.0.0.1:1", TRAINYARD_HOME: "/h" };
    const c = chooseStores({ config, configFile: "/p/trainyard.config.ts", env, cwd: "/w" });
    expect(c.artifacts).toEqual({
      kind: "s3",
      url: "s3://b/p",
      endpoint: "http://127.0.0.1:1",
      cacheDir: "/h/object-cache",
    });
    expect(c.sources.artifacts).toBe("environment");
  });

  it("refuses an artifact URL that is not s3://, naming the field", () => {
    expect(() =>
      validateConfig({ artifacts: { kind: "s3", url: "https://bucket" } }, "/p/trainyard.config.ts"),
    ).toThrow(/artifacts\.url/);
    expect(() =>
      validateConfig({ store: { artifacts: "s3://b", endpoint: "127.0.0.1:9000" } }, "/p/trainyard.config.ts"),
    ).toThrow(/store\.endpoint/);
  });
});
