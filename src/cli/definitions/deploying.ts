/** Definitions of the commands that deploy a project elsewhere: `export k8s`. */
import type { CommandDef, OptionDef } from "../command-def.js";

const PER_QUEUE = (what: string, fallback: string): OptionDef => ({
  type: "string",
  value: "N|Q=N",
  multiple: true,
  description: `${what}, for every queue or for queue Q (default ${fallback})`,
});

export const exportDef: CommandDef = {
  name: "export",
  summary: "write deployment manifests for a pipeline (Kubernetes)",
  subcommands: [
    {
      name: "k8s",
      summary: "Kubernetes manifests: a worker Deployment and KEDA ScaledObject per queue, the daemon, config",
      details:
        "Workers scale on their queue's length in Redis (KEDA's Redis scaler on BullMQ's keys); metadata in\n" +
        "PostgreSQL and artifacts in S3, with credentials from Secrets. See docs/scale-out.md.",
      positionals: [{ name: "pipeline.ts", description: "the pipeline module, inside the project the image holds" }],
      opensHome: false,
      options: {
        image: {
          type: "string",
          value: "IMG",
          description: "container image with the project and `trainyard` (required)",
        },
        s3: { type: "string", value: "s3://BUCKET[/PREFIX]", description: "where artifacts are kept (required)" },
        out: { type: "string", value: "DIR", description: "directory the manifests are written to", default: "k8s" },
        namespace: { type: "string", value: "NS", description: "namespace of every object", default: "trainyard" },
        workdir: { type: "string", value: "DIR", description: "the project's directory in the image", default: "/app" },
        redis: {
          type: "string",
          value: "URL",
          description: "BullMQ's Redis, redis:// or rediss://",
          default: "redis://redis:6379",
        },
        "redis-secret": { type: "string", value: "NAME", description: "Secret with the Redis `password`" },
        "redis-prefix": {
          type: "string",
          value: "P",
          description: "the queue executor's Redis key prefix (executor.prefix)",
          default: "trainyard",
        },
        "postgres-secret": {
          type: "string",
          value: "NAME",
          description: "Secret with the PostgreSQL `url`",
          default: "trainyard-postgres",
        },
        "s3-endpoint": { type: "string", value: "URL", description: "an S3-compatible endpoint (default: AWS S3)" },
        "s3-region": { type: "string", value: "R", description: "the bucket's region", default: "us-east-1" },
        "s3-secret": {
          type: "string",
          value: "NAME",
          description: "Secret with `access-key-id` and `secret-access-key`",
          default: "trainyard-s3",
        },
        "gpu-queue": {
          type: "string",
          value: "Q",
          multiple: true,
          description: "a queue whose workers get one nvidia.com/gpu and GPU nodes (default: gpu)",
        },
        concurrency: PER_QUEUE("steps one worker runs at once", "1"),
        "max-workers": PER_QUEUE("most workers of a queue", "20"),
        "min-workers": PER_QUEUE("workers kept while the queue is empty", "0"),
        "worker-cpu": PER_QUEUE("CPU a worker requests", "1; 4 on GPU queues"),
        "worker-memory": PER_QUEUE("a worker's memory", "4Gi; 16Gi on GPU queues"),
        "drain-seconds": {
          type: "string",
          value: "S",
          description: "time a stopping worker has to finish its steps",
          default: "3600",
        },
      },
      examples: [
        "trainyard export k8s examples/flight-delays/pipeline.ts " +
          "--image registry.example/ml:1.4 --s3 s3://ml-artifacts/trainyard",
      ],
      load: async () => (await import("../commands/export.js")).exportK8sCommand,
    },
  ],
};
