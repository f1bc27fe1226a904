/**
 * Artifact upload and download throughput: the S3 store against s3rver and fauxqs on loopback, side
 * by side with the local file store, for one large file (multipart) and a directory of small files,
 * next to what each emulator does for the raw SDK with no store in between (its ceiling). Then
 * the bytes a warm cache reads from the object store when an unchanged input is hydrated again
 * (the target is none), counted by the store's request counter. The machine is shared: each
 * upload and download figure is the median of several rounds, and a step output's upload is put
 * next to the emulator's own streamed PutObject of the same file, measured in the same rounds.
 *
 *   npx tsx bench/object-store.ts [--mib 256] [--files 200] [--rounds 5]
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { copyFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { ArtifactStore } from "../src/store/artifact-store.js";
import { hashFileNow } from "../src/store/file-hash.js";
import { copyHashed } from "../src/store/hashed-copy.js";
import { FsArtifactStore } from "../src/store/fs-artifact-store.js";
import { rehashObject } from "../src/store/object-verifier.js";
import { S3ArtifactStore, UPLOAD_READ_CHUNK } from "../src/store/s3-artifact-store.js";
import { rawS3Client, type S3Emulator, startFauxqs, startS3rver } from "../test/support/s3.js";
import { measureCeiling } from "./support/s3-ceiling.js";
import { flag, formatTable, median } from "./support/timing.js";

const MIB = Number(flag("mib", "256"));
const FILES = Number(flag("files", "200"));
const ROUNDS = Number(flag("rounds", "5"));
const DIR = resolve("bench/.work/object-store");

function makeLargeFile(path: string): void {
  const block = randomBytes(8 * 1024 * 1024);
  const fd = openSync(path, "w");
  for (let written = 0, i = 0; written < MIB * 1024 * 1024; written += block.length, i++) {
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
}

function makeTree(path: string): number {
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const sub = join(path, `part-${i % 10}`);
    mkdirSync(sub, { recursive: true });
    const body = randomBytes(16 * 1024 + i);
    writeFileSync(join(sub, `f${i}.bin`), body);
    bytes += body.length;
  }
  return bytes;
}

/** A copy of `file` with other first bytes: an object the store does not hold yet. */
async function stepOutput(file: string, output: string): Promise<void> {
  await copyFile(file, output);
  const fd = openSync(output, "r+");
  writeSync(fd, randomBytes(16), 0, 16, 0);
  closeSync(fd);
}

const consume = (store: ArtifactStore, path: string) => store.putFile(path, { consume: true });

interface Row {
  store: string;
  object: string;
  upload: string;
  download: string;
  /** The emulator's own PutObject of the same step output, streamed from the file, in the same rounds. */
  rawPut?: string;
}

const statOf = async (path: string) => {
  const st = await stat(path);
  return { isDirectory: st.isDirectory(), size: st.size };
};

const rate = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const mbps = (values: number[]) => `${median(values).toFixed(0)} MB/s`;

/** A raw SDK put of a file, as the store streams it: the emulator's ceiling for that object. */
type RawPut = (file: string, key: string) => Promise<unknown>;

async function measure(
  name: string,
  writer: ArtifactStore,
  reader: () => ArtifactStore,
  sources: { file: string; tree: string; fileBytes: number; treeBytes: number },
  rawPut?: RawPut,
): Promise<Row[]> {
  const rows: Row[] = [];
  // A step's output is taken by the store (consumed, as the engine stores what a step wrote in its
  // work directory); a file named by path is copied. Each round's object is new to the store, and
  // the machine is shared: each row is the median of ROUNDS puts and cold reads.
  const output = `${sources.file}.output`;
  const copied = `${sources.file}.copied`;
  for (const [object, prepare, put, bytes] of [
    [
      `file ${MIB} MiB, step output`,
      () => stepOutput(sources.file, output),
      () => consume(writer, output),
      sources.fileBytes,
    ],
    [
      `file ${MIB} MiB, copied`,
      () => stepOutput(sources.file, copied),
      () => writer.putFile(copied),
      sources.fileBytes,
    ],
    [`${FILES} files`, () => touchTree(sources.tree), () => writer.putDirectory(sources.tree), sources.treeBytes],
  ] as const) {
    const [up, down, raw]: number[][] = [[], [], []];
    let refused = false;
    for (let round = 0; round < ROUNDS; round++) {
      await prepare();
      // The emulator's streamed put of the same bytes, right before the store's: side by side under the same load.
      if (rawPut && object.endsWith("step output") && !refused) {
        const t = performance.now();
        // A server that refuses a body this large in one request has no such ceiling.
        await rawPut(output, `raw/${round}`).then(
          () => raw.push(rate(bytes, performance.now() - t)),
          () => (refused = true),
        );
      }
      let t = performance.now();
      const stored = await put();
      up.push(rate(bytes, performance.now() - t));
      const cold = reader();
      t = performance.now();
      const local = await cold.getLocal(stored.digest);
      // The same work as the S3 cache's check on the way in: the bytes are hashed against the digest.
      if (!cold.verifiesReads) await rehashObject(local, stored.digest, await statOf(local));
      down.push(rate(bytes, performance.now() - t));
      await cold.close?.();
    }
    rows.push({
      store: name,
      object,
      upload: mbps(up),
      download: mbps(down),
      rawPut: refused ? "refused" : raw.length ? mbps(raw) : undefined,
    });
  }
  return rows;
}

/** A new small file in the tree: a directory object the store does not hold yet. */
function touchTree(tree: string): void {
  writeFileSync(join(tree, "round.bin"), randomBytes(1024));
}

async function main(): Promise<void> {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, "large.bin");
  makeLargeFile(file);
  const tree = join(DIR, "tree");
  const treeBytes = makeTree(tree);
  const sources = { file, tree, fileBytes: MIB * 1024 * 1024, treeBytes };
  const rows: Row[] = [];

  // The local store: upload is a copy into the store, download a verified read of the object.
  const fsStore = new FsArtifactStore(join(DIR, "fs-store"));
  rows.push(...(await measure("fs (local)", fsStore, () => new FsArtifactStore(join(DIR, "fs-store")), sources)));

  const body = readFileSync(file);
  let caches = 0;
  const ceilings: string[][] = [];
  let warmLine = "";
  for (const [name, startEmulator] of [
    ["s3rver", () => startS3rver(join(DIR, "s3rver"))],
    ["fauxqs", () => startFauxqs()],
  ] as const) {
    const emulator = await startEmulator();
    const s3 = () =>
      new S3ArtifactStore({
        url: `s3://${emulator.bucket}/bench`,
        endpoint: emulator.endpoint,
        credentials: emulator.credentials,
        cacheDir: join(DIR, `cache-${++caches}`),
      });
    try {
      await warmUp(emulator, body);
      const writer = s3();
      // Untimed: a store's first large put also starts its hashing threads and its connections,
      // once per worker process; the rows below are a worker's steady state.
      await stepOutput(file, `${file}.warm`);
      await consume(writer, `${file}.warm`);
      const raw = rawS3Client(emulator);
      const rawPut: RawPut = (path, Key) =>
        raw.send(
          new PutObjectCommand({
            ...{ Bucket: emulator.bucket, Key, ContentLength: sources.fileBytes },
            Body: createReadStream(path, { highWaterMark: UPLOAD_READ_CHUNK }),
          }),
        );
      // fauxqs refuses a body this large in one request (its ceiling rows say so): it has no streamed put to compare.
      const sideBySide = name === "s3rver" ? rawPut : undefined;
      rows.push(...(await measure(`s3 (${name}, loopback)`, writer, s3, sources, sideBySide)));
      raw.destroy();
      for (const c of await measureCeiling(emulator, body, file)) {
        const figure = typeof c.mbPerSecond === "number" ? `${c.mbPerSecond} MB/s` : c.mbPerSecond;
        ceilings.push([name, c.operation, figure]);
      }
      if (name === "s3rver") warmLine = await warmHydration(writer, s3(), file);
      await writer.close();
    } finally {
      await emulator.stop();
    }
  }
  const staging = await stagingCost(file);
  rmSync(DIR, { recursive: true, force: true });
  console.log(`medians of ${ROUNDS} rounds, each with a new object:`);
  const header = ["store", "object", "upload", "download (cold cache, verified)", "emulator's streamed put"];
  console.log(formatTable([header, ...rows.map((r) => [r.store, r.object, r.upload, r.download, r.rawPut ?? ""])]));
  console.log(`\nthe emulators' own ceiling, raw SDK, ${MIB} MiB from memory (the streamed row from the file):`);
  console.log(formatTable([["emulator", "operation", "throughput"], ...ceilings]));
  console.log(`\n${staging}`);
  console.log(`\n${warmLine}`);
}

/**
 * One 8 MiB PutObject and GetObject before anything is timed (fauxqs takes at most 11 MiB): the
 * store's figures, measured first, then meet the emulator as warm as its ceiling rows, measured after them, do.
 */
async function warmUp(emulator: S3Emulator, body: Buffer): Promise<void> {
  const client = rawS3Client(emulator);
  const Bucket = emulator.bucket;
  try {
    await client.send(new PutObjectCommand({ Bucket, Key: "warm-up", Body: body.subarray(0, 8 * 1024 * 1024) }));
    const got = await client.send(new GetObjectCommand({ Bucket, Key: "warm-up" }));
    for await (const _ of got.Body as AsyncIterable<Uint8Array>);
  } finally {
    client.destroy();
  }
}

/** The S3 store's work before its PutObject: a copied file copied and hashed in one read, a step's output hashed. */
async function stagingCost(file: string): Promise<string> {
  const staged = join(DIR, "staged.bin");
  let t = performance.now();
  await copyHashed(file, staged);
  const copyMs = performance.now() - t;
  t = performance.now();
  await hashFileNow(staged);
  const hashMs = performance.now() - t;
  rmSync(staged, { force: true });
  const copied = `a copied file is copied and hashed in ${copyMs.toFixed(0)} ms`;
  return `before an S3 put of ${MIB} MiB: ${copied}, a step's output hashed in ${hashMs.toFixed(0)} ms`;
}

/** Warm hydration: the same worker asks for an input it already holds; the target is no bytes read. */
async function warmHydration(writer: S3ArtifactStore, warm: S3ArtifactStore, file: string): Promise<string> {
  const digest = (await writer.putFile(file)).digest;
  await warm.getLocal(digest);
  const before = { gets: warm.requests.count("GetObjectCommand"), bytes: warm.requests.bytesRead };
  await warm.getLocal(digest);
  const gets = warm.requests.count("GetObjectCommand") - before.gets;
  const bytes = warm.requests.bytesRead - before.bytes;
  await warm.close();
  return (
    `warm hydration of an unchanged ${MIB} MiB input: ${gets} GET requests, ${bytes} bytes read ` +
    `from the object store (cold: ${before.gets} GET, ${before.bytes} bytes)`
  );
}

await main();
