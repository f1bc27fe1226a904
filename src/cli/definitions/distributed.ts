/** Commands of the distributed executor: workers that run queued steps, and the overview of them. */
import type { CommandDef, OptionDef } from "../command-def.js";

const REDIS: OptionDef = {
  type: "string",
  value: "URL",
  description: "Redis (default: the config's executor.redis, else $TRAINYARD_REDIS_URL)",
};
const POSTGRES: OptionDef = {
  type: "string",
  value: "URL",
  description: "PostgreSQL holding the queues (BullMQ's PostgreSQL backend) in place of Redis",
};

export const workerDef: CommandDef = {
  name: "worker",
  summary: 'run steps queued by runs whose executor is "queue" (BullMQ); SIGTERM finishes running steps',
  details:
    "Connects to the Redis or PostgreSQL queues of the config's queue executor (or --redis, --postgres), " +
    "the shared metadata store and artifact store,\n" +
    "and runs the tasks of the named queues (pools, capabilities) with the same runners as a local run.",
  options: {
    queue: {
      type: "string",
      value: "Q",
      multiple: true,
      description: "queue (a step's pool, or a capability such as gpu) to take tasks from",
      default: "default",
    },
    concurrency: { type: "string", value: "N", description: "tasks run at once", default: "1" },
    redis: REDIS,
    postgres: POSTGRES,
    "health-port": {
      type: "string",
      value: "N",
      description:
        "answer /healthz (event loop responsive) and /readyz (queues, metadata and object store reachable) " +
        "on this port, on every interface",
    },
    id: { type: "string", value: "ID", description: "this worker's id in records and errors (default: random)" },
    "keep-logs": {
      type: "string",
      value: "DURATION",
      description:
        "how long a run's log files stay in this worker's home (30d, 12h); those of a run gc removed go after an hour",
      default: "30d",
    },
  },
  examples: ["trainyard worker --queue default --queue gpu --concurrency 4 --config trainyard.config.ts"],
  load: async () => (await import("../commands/worker.js")).workerCommand,
};

export const workersDef: CommandDef = {
  name: "workers",
  summary: "the workers on each queue with their slots, the tasks they run now, and each queue's job counts",
  details:
    "Reaches the queues as `trainyard worker` does (the config's queue executor, or --redis, --postgres) and reads\n" +
    "the task fences of the metadata store. A heartbeat older than the queue's lock marks a task possibly lost.\n" +
    "Exits 1 when a queue has waiting tasks and no worker listed on it, or when the Redis holding the queues\n" +
    "evicts keys when full or keeps no append-only file.",
  options: {
    queue: {
      type: "string",
      value: "Q",
      multiple: true,
      description: "queue to show (default: every queue with task fences, and default)",
    },
    redis: REDIS,
    postgres: POSTGRES,
    json: { type: "boolean", description: "print JSON instead of text" },
  },
  examples: ["trainyard workers --config trainyard.config.ts", "trainyard workers --queue gpu --json"],
  load: async () => (await import("../commands/workers.js")).workersCommand,
};
