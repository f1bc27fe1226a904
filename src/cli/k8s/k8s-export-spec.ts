/**
 * What `trainyard export k8s` writes manifests from: the options as given (`K8sExportOptions`),
 * validated and filled with defaults into a `K8sExportSpec`. Every error names the option or the
 * step whose value is wrong, since a bad name only fails later, inside the cluster.
 */
import { TrainyardError } from "../../core/errors.js";

/** Options as given on the command line (or by a program); only `image` and `s3` are required. */
export interface K8sExportOptions {
  /** The pipeline's name, for labels and the summary. */
  pipeline: string;
  /** The pipeline module's path inside the image, relative to `workdir`. */
  modulePath: string;
  /** Every queue a step of the pipeline runs on, with the steps on it. */
  queues: Record<string, string[]>;
  /** Container image with the project and `trainyard` on its PATH. */
  image?: string;
  /** @default "trainyard" */
  namespace?: string;
  /** The project's directory inside the image. @default "/app" */
  workdir?: string;
  /** BullMQ's Redis. @default "redis://redis:6379" */
  redis?: string;
  /** A Secret with the Redis password under the key `password`. @default none (no password) */
  redisSecret?: string;
  /** The queue executor's Redis key prefix (its config's `executor.prefix`). @default "trainyard" */
  redisPrefix?: string;
  /** A Secret with the PostgreSQL URL under the key `url`. @default "trainyard-postgres" */
  postgresSecret?: string;
  /** The artifact bucket, as s3://bucket or s3://bucket/prefix. */
  s3?: string;
  /** An S3-compatible endpoint; AWS S3 when absent. */
  s3Endpoint?: string;
  /** @default "us-east-1" */
  s3Region?: string;
  /** A Secret with `access-key-id` and `secret-access-key`. @default "trainyard-s3" */
  s3Secret?: string;
  /** Queues whose workers get a GPU; "N" or "queue=N" values below apply to all queues or one. @default ["gpu"] */
  gpuQueues?: string[];
  /** Steps one worker runs at once: "N" or "queue=N". @default 1 */
  concurrency?: string[];
  /** The most workers of a queue: "N" or "queue=N". @default 20 */
  maxWorkers?: string[];
  /** Workers kept when the queue is empty: "N" or "queue=N". @default 0 */
  minWorkers?: string[];
  /** CPU requested by a worker: "N" or "queue=N". @default "1", "4" on GPU queues */
  workerCpu?: string[];
  /** Memory of a worker (request and limit): "SIZE" or "queue=SIZE". @default "4Gi", "16Gi" on GPU queues */
  workerMemory?: string[];
  /** Seconds a worker has to finish its steps when stopped. @default 3600 */
  drainSeconds?: number;
}

export interface WorkerPool {
  queue: string;
  steps: string[];
  gpu: boolean;
  concurrency: number;
  minWorkers: number;
  maxWorkers: number;
  cpu: string;
  memory: string;
}

export interface K8sExportSpec {
  pipeline: string;
  modulePath: string;
  image: string;
  namespace: string;
  workdir: string;
  redis: { url: string; address: string; databaseIndex: number; tls: boolean; secret?: string; prefix: string };
  postgresSecret: string;
  s3: { bucket: string; prefix: string; endpoint?: string; region: string; secret: string };
  pools: WorkerPool[];
  drainSeconds: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** "trainyard-worker-" + queue must stay a label of at most 63 characters. */
export const MAX_QUEUE_NAME = 63 - "trainyard-worker-".length;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

function invalid(field: string, message: string, hint: string, step?: string): never {
  throw new TrainyardError("K8S_EXPORT_INVALID", `${field}: ${message}`, { field, hint, step });
}

function checkLabel(field: string, value: string, max = 63, step?: string): string {
  if (!DNS_LABEL.test(value) || value.length > max) {
    invalid(
      field,
      `"${value}" is not a DNS-1123 label of at most ${max} characters`,
      "use lowercase letters, digits and '-', starting and ending with a letter or digit",
      step,
    );
  }
  return value;
}

/** Validates the options and fills defaults; throws K8S_EXPORT_INVALID naming the field. */
export function compileK8sExport(o: K8sExportOptions): K8sExportSpec {
  if (!o.image?.trim()) {
    invalid(
      "--image",
      "an image is required",
      "build an image holding the project (see docs/scale-out.md): --image IMG",
    );
  }
  if (/\s/.test(o.image)) invalid("--image", `"${o.image}" contains white space`, "give an image reference");
  const queues = Object.keys(o.queues).sort();
  for (const q of queues) {
    const steps = o.queues[q];
    checkLabel(`pool (queue) of step "${steps[0]}"`, q, MAX_QUEUE_NAME, steps[0]);
  }
  const gpuQueues = new Set(o.gpuQueues ?? ["gpu"]);
  const pick = perQueue(queues);
  const pools = queues.map((queue): WorkerPool => {
    const gpu = gpuQueues.has(queue);
    const minWorkers = pick("--min-workers", o.minWorkers, queue, "0", count(0));
    const maxWorkers = pick("--max-workers", o.maxWorkers, queue, "20", count(1));
    if (minWorkers > maxWorkers) {
      invalid("--min-workers", `queue ${queue}: ${minWorkers} is more than --max-workers ${maxWorkers}`, "lower it");
    }
    return {
      queue,
      steps: o.queues[queue],
      gpu,
      concurrency: pick("--concurrency", o.concurrency, queue, "1", count(1)),
      minWorkers,
      maxWorkers,
      cpu: pick("--worker-cpu", o.workerCpu, queue, gpu ? "4" : "1", quantity),
      memory: pick("--worker-memory", o.workerMemory, queue, gpu ? "16Gi" : "4Gi", quantity),
    };
  });
  return {
    pipeline: o.pipeline,
    modulePath: o.modulePath,
    image: o.image.trim(),
    namespace: checkLabel("--namespace", o.namespace ?? "trainyard"),
    workdir: absolute("--workdir", o.workdir ?? "/app"),
    redis: redisOf(o),
    postgresSecret: secretName("--postgres-secret", o.postgresSecret ?? "trainyard-postgres"),
    s3: s3Of(o),
    pools,
    drainSeconds: count(1)("--drain-seconds", String(o.drainSeconds ?? 3600)),
  };
}

/** Reads "N" (every queue) and "queue=N" (one queue, which wins) values of one option. */
function perQueue(queues: string[]) {
  return <T>(field: string, values: string[] | undefined, queue: string, fallback: string, parse: Parse<T>): T => {
    let all = fallback;
    let own: string | undefined;
    for (const v of values ?? []) {
      const eq = v.indexOf("=");
      if (eq < 0) {
        all = v;
        continue;
      }
      const q = v.slice(0, eq);
      if (!queues.includes(q)) {
        invalid(field, `no step runs on queue "${q}"`, `the pipeline's queues are ${queues.join(", ") || "none"}`);
      }
      if (q === queue) own = v.slice(eq + 1);
    }
    return parse(field, own ?? all);
  };
}

type Parse<T> = (field: string, value: string) => T;

function count(min: number): Parse<number> {
  return (field, value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) invalid(field, `"${value}" is not an integer >= ${min}`, "give a number");
    return n;
  };
}

function quantity(field: string, value: string): string {
  if (!QUANTITY.test(value)) invalid(field, `"${value}" is not a Kubernetes quantity`, 'e.g. "500m", "2", "8Gi"');
  return value;
}

function absolute(field: string, value: string): string {
  if (!value.startsWith("/")) invalid(field, `"${value}" is not an absolute path`, "e.g. /app");
  return value.replace(/\/+$/, "") || "/";
}

function secretName(field: string, value: string): string {
  if (!/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(value) || value.length > 253) {
    invalid(field, `"${value}" is not a valid Secret name`, "use lowercase letters, digits, '-' and '.'");
  }
  return value;
}

function redisOf(o: K8sExportOptions): K8sExportSpec["redis"] {
  const raw = o.redis ?? "redis://redis:6379";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return invalid("--redis", `"${raw}" is not a URL`, "e.g. redis://redis.trainyard.svc:6379/0");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    invalid("--redis", `"${raw}" is not a redis:// or rediss:// URL`, "e.g. redis://redis.trainyard.svc:6379/0");
  }
  if (url.password) {
    invalid("--redis", "the URL holds a password", "put the password in a Secret and pass --redis-secret NAME");
  }
  const db = url.pathname.replace(/^\//, "") || "0";
  if (!/^\d+$/.test(db)) invalid("--redis", `database "${db}" is not a number`, "e.g. redis://redis:6379/0");
  const prefix = o.redisPrefix ?? "trainyard";
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix))
    invalid("--redis-prefix", `"${prefix}" is not a plain key prefix`, "letters, digits, '_', '.' and '-'");
  return {
    url: raw,
    address: `${url.hostname}:${url.port || "6379"}`,
    databaseIndex: Number(db),
    tls: url.protocol === "rediss:",
    secret: o.redisSecret === undefined ? undefined : secretName("--redis-secret", o.redisSecret),
    prefix,
  };
}

function s3Of(o: K8sExportOptions): K8sExportSpec["s3"] {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(o.s3 ?? "");
  if (!m) {
    invalid(
      "--s3",
      o.s3 ? `"${o.s3}" is not s3://bucket[/prefix]` : "an artifact bucket is required",
      "a bucket name is 3-63 lowercase letters, digits, '.' or '-', e.g. s3://ml-artifacts/trainyard",
    );
  }
  if (o.s3Endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(o.s3Endpoint)) {
    invalid("--s3-endpoint", `"${o.s3Endpoint}" is not an http(s) URL`, "e.g. https://minio.storage.svc:9000");
  }
  const region = o.s3Region ?? "us-east-1";
  if (!/^[a-z0-9-]+$/.test(region)) invalid("--s3-region", `"${region}" is not a region name`, "e.g. eu-west-1");
  return {
    bucket: m[1],
    prefix: (m[2] ?? "").replace(/\/+$/, ""),
    endpoint: o.s3Endpoint,
    region,
    secret: secretName("--s3-secret", o.s3Secret ?? "trainyard-s3"),
  };
}
