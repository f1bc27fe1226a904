/**
 * The services a docs page's commands reach, started for that page on loopback by the test/support
 * helpers (Redis, PostgreSQL, an S3 emulator) and stopped after it. The page's config is written
 * with their addresses; `env` is what a reader's shell would hold for them (the metadata URL, S3 keys).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres } from "../support/postgres.js";
import { startRedis } from "../support/redis.js";
import { startS3rver } from "../support/s3.js";

export type ServiceName = "redis" | "postgres" | "s3";

export interface PageServices {
  env: Record<string, string>;
  redisUrl: string;
  postgresUrl: string;
  s3Endpoint: string;
  s3Bucket: string;
  stop(): Promise<void>;
}

/** The bucket of the docs' S3 examples (`s3://ml-artifacts/trainyard`). */
const DOCS_BUCKET = "ml-artifacts";

export async function startServices(names: ServiceName[]): Promise<PageServices> {
  const stops: Array<() => Promise<void>> = [];
  const services: PageServices = {
    env: {},
    redisUrl: "",
    postgresUrl: "",
    s3Endpoint: "",
    s3Bucket: DOCS_BUCKET,
    stop: async () => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
  try {
    if (names.includes("redis")) {
      const redis = await startRedis();
      stops.push(() => redis.stop());
      services.redisUrl = redis.url;
      services.env.TRAINYARD_REDIS_URL = redis.url;
    }
    if (names.includes("postgres")) {
      const postgres = await startPostgres();
      stops.push(() => postgres.stop());
      services.postgresUrl = postgres.url;
      services.env.TRAINYARD_METADATA_URL = postgres.url;
    }
    if (names.includes("s3")) {
      const dir = mkdtempSync(join(tmpdir(), "ty-docs-s3-"));
      const s3 = await startS3rver(dir, DOCS_BUCKET);
      stops.push(async () => {
        await s3.stop();
        rmSync(dir, { recursive: true, force: true });
      });
      services.s3Endpoint = s3.endpoint;
      services.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
      services.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
    }
  } catch (err) {
    await services.stop();
    throw err;
  }
  return services;
}
