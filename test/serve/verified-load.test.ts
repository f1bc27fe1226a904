/**
 * A model bundle with one flipped byte is never served: the server verifies the version's
 * artifact against its digest before loading it, reports ARTIFACT_CORRUPT and quarantines it.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Trainyard } from "../../src/engine/trainyard.js";
import { promoteAlias } from "../../src/lib/registry/index.js";
import { serveHome } from "../../src/serve/serve-home.js";
import { openModelHome, trainAndRegister } from "../registry/model-home.js";
import { loadLinearPredictor } from "./linear-predictor.js";
import { shortDigest } from "../../src/core/hash.js";

let ty: Trainyard | undefined;
let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  await ty?.close();
  if (ty) fs.rmSync(ty.home, { recursive: true, force: true });
});

describe("serving a damaged model", () => {
  it("refuses to load a bundle with one flipped byte and never answers with it", async () => {
    ty = await openModelHome();
    const v = await trainAndRegister(ty, "lin", 2);
    await promoteAlias(ty, "lin", "production", v.version, { actor: "test" });
    const dir = await ty.artifacts.pathOf(v.artifactDigest);
    const file = path.join(dir, "bundle.json");
    const text = fs.readFileSync(file, "utf8");
    const at = text.indexOf('"x":2') + 4;
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(file, 0o644);
    const buf = Buffer.from(text);
    buf[at] ^= 0x01; // "x":2 -> "x":3
    fs.writeFileSync(file, buf);

    const events: string[] = [];
    const { server, url } = await serveHome(ty, {
      port: 0,
      loadPredictor: loadLinearPredictor,
      onEvent: (e: string) => events.push(e),
    });
    close = () => server.close();
    const res = await fetch(`${url}/v1/models/lin/production:predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rows: [{ x: 1 }] }),
    });
    expect(res.status).not.toBe(200);
    expect(events.join("\n")).toContain(shortDigest(v.artifactDigest));
    expect(events.join("\n")).toMatch(/hashes to/);
    expect((await fetch(`${url}/readyz`)).status).not.toBe(200);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(path.join(ty.home, "artifacts", "quarantine")).length).toBe(1);
  });
});
