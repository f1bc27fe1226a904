/**
 * The CLI on a home whose artifacts are in S3 (s3rver on loopback): its output carries no AWS SDK
 * notice about Node versions, which the SDK would print on Node 20 whenever a client is made.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3Emulator, startS3rver } from "../support/s3.js";

const root = mkdtempSync(join(tmpdir(), "ty-s3-cli-"));
let emulator: S3Emulator;
const NOTICE = /NodeVersionSupportWarning|AWS SDK for JavaScript/;

beforeAll(async () => {
  emulator = await startS3rver(join(root, "server"));
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(root, { recursive: true, force: true });
});

function cli(home: string, args: string[], extraEnv: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = {
    ...process.env,
    TRAINYARD_HOME: join(root, home),
    TRAINYARD_ARTIFACTS: `s3://${emulator.bucket}/${home}`,
    TRAINYARD_S3_ENDPOINT: emulator.endpoint,
    AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    NO_COLOR: "1",
    ...extraEnv,
  };
  // Whatever the test process itself set: the CLI must silence the notice on its own.
  if (!("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED" in extraEnv))
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  return spawnSync(process.execPath, ["bin/trainyard.js", ...args], { encoding: "utf8", env });
}

async function objectsUnder(prefix: string): Promise<number> {
  const client = new S3Client({
    endpoint: emulator.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: emulator.credentials,
  });
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: emulator.bucket, Prefix: `${prefix}/objects/` }));
    return page.KeyCount ?? 0;
  } finally {
    client.destroy();
  }
}

describe("trainyard on an S3 home", () => {
  it("runs, lists and collects garbage with no AWS SDK notice on stderr", async () => {
    const run = cli("quiet", ["run", "test/fixtures/demo-pipeline.ts", "--json"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(NOTICE);
    // The run really wrote to the bucket: the notice had its chance to appear.
    expect(await objectsUnder("quiet")).toBeGreaterThan(0);
    for (const args of [["runs"], ["gc", "--dry-run"]]) {
      const out = cli("quiet", args);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stderr).not.toMatch(NOTICE);
    }
  });

  it("leaves the notice on when the user turned it on, so the check above can see it", () => {
    const major = Number(process.versions.node.split(".")[0]);
    const out = cli("loud", ["gc", "--dry-run"], {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "false",
    });
    expect(out.status, out.stderr).toBe(0);
    // The SDK warns only below Node 22; from there on it has nothing to say either way.
    if (major < 22) expect(out.stderr).toMatch(NOTICE);
    else expect(out.stderr).not.toMatch(NOTICE);
  });
});
