/**
 * One worker pool per queue: a Deployment of `trainyard worker --queue Q`, a KEDA ScaledObject
 * that sizes it from BullMQ's keys in Redis, and a PodDisruptionBudget so that a node drain
 * interrupts few steps at once.
 */
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import type { ITriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { K8sExportSpec, WorkerPool } from "./k8s-export-spec.js";
import {
  CONFIG_FILE,
  CONTAINER_SECURITY,
  envOf,
  healthProbe,
  labelsOf,
  type Manifest,
  metadataOf,
  POD_SECURITY,
  SERVICE_ACCOUNT,
  VOLUME_MOUNTS,
  volumesOf,
  WORKER_HEALTH_PORT,
} from "./pod-parts.js";

export const REDIS_TRIGGER_AUTH = "trainyard-redis";

export function workerName(queue: string): string {
  return `trainyard-worker-${queue}`;
}

/** The BullMQ queue the queue executor uses for a step queue (pool): `steps.<queue>`. */
export function bullQueueName(queue: string): string {
  return `steps.${queue}`;
}

/**
 * BullMQ 6's keys for a queue's jobs: waiting jobs without a priority in the `wait` list, jobs with
 * one (every task: priorities follow the critical path) in the `prioritized` sorted set, running
 * ones in the `active` list.
 */
export function bullmqKeys(prefix: string, queue: string) {
  const base = `${prefix}:${bullQueueName(queue)}`;
  return { wait: `${base}:wait`, prioritized: `${base}:prioritized`, active: `${base}:active` };
}

function withAnnotation<M extends { annotations: Record<string, string> }>(m: M, key: string, value: string): M {
  return { ...m, annotations: { ...m.annotations, [key]: value } };
}

export function workerDeployment(spec: K8sExportSpec, pool: WorkerPool): Manifest {
  const labels = labelsOf("worker", pool.queue);
  const homeGib = pool.gpu ? 200 : 50;
  const resources = {
    requests: { cpu: pool.cpu, memory: pool.memory },
    limits: { memory: pool.memory, ...(pool.gpu ? { "nvidia.com/gpu": "1" } : {}) },
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    // The steps go on the Deployment, not its pods: workers load each run's code by digest, so a
    // changed pipeline needs no restart.
    metadata: withAnnotation(metadataOf(spec, workerName(pool.queue), labels), "trainyard/steps", pool.steps.join(",")),
    // No `replicas`: the ScaledObject owns it, and a re-apply must not reset it.
    spec: {
      selector: { matchLabels: labels },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: SERVICE_ACCOUNT,
          automountServiceAccountToken: false,
          // A stopped worker takes no new task and finishes the ones it holds; past this a task is re-run.
          terminationGracePeriodSeconds: spec.drainSeconds,
          securityContext: POD_SECURITY,
          ...(pool.gpu
            ? {
                nodeSelector: { "nvidia.com/gpu.present": "true" },
                tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
              }
            : {}),
          containers: [
            {
              name: "worker",
              image: spec.image,
              command: ["trainyard"],
              args: [
                "worker",
                "--queue",
                pool.queue,
                "--concurrency",
                String(pool.concurrency),
                "--config",
                CONFIG_FILE,
                "--health-port",
                String(WORKER_HEALTH_PORT),
              ],
              workingDir: spec.workdir,
              env: envOf(spec, homeGib),
              ports: [{ name: "health", containerPort: WORKER_HEALTH_PORT, protocol: "TCP" }],
              // Alive while its event loop answers; ready while it reaches the queues, the metadata and the
              // object store, so a rollout waits for workers that can really take tasks.
              startupProbe: healthProbe("/healthz", 5, 24),
              livenessProbe: healthProbe("/healthz", 10, 3),
              readinessProbe: healthProbe("/readyz", 10, 2),
              resources,
              volumeMounts: VOLUME_MOUNTS,
              securityContext: CONTAINER_SECURITY,
            },
          ],
          volumes: volumesOf(homeGib),
        },
      },
    },
  } satisfies IDeployment;
}

/**
 * Workers wanted = (waiting + prioritized + running tasks) / tasks per worker: KEDA's formula over
 * three Redis triggers. Running tasks count so that scaling in never stops a busy pool below the
 * workers its tasks occupy; with no task at all the pool goes to its minimum (0 by default).
 */
export function workerScaledObject(spec: K8sExportSpec, pool: WorkerPool): Manifest {
  const keys = bullmqKeys(spec.redis.prefix, pool.queue);
  const trigger = (name: keyof typeof keys) => ({
    type: "redis",
    name,
    metadata: {
      address: spec.redis.address,
      listName: keys[name],
      listLength: String(pool.concurrency),
      databaseIndex: String(spec.redis.databaseIndex),
      ...(spec.redis.tls ? { enableTLS: "true" } : {}),
    },
    ...(spec.redis.secret ? { authenticationRef: { name: REDIS_TRIGGER_AUTH } } : {}),
  });
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: metadataOf(spec, workerName(pool.queue), labelsOf("worker", pool.queue)),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: workerName(pool.queue) },
      minReplicaCount: pool.minWorkers,
      maxReplicaCount: pool.maxWorkers,
      pollingInterval: 10,
      cooldownPeriod: 300,
      advanced: {
        scalingModifiers: {
          formula: "wait + prioritized + active",
          target: String(pool.concurrency),
          activationTarget: "0",
          metricType: "AverageValue",
        },
        horizontalPodAutoscalerConfig: {
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] },
            // Slow scale-in: a worker that just finished a task is likely to get the next one.
            scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 2, periodSeconds: 60 }] },
          },
        },
      },
      triggers: [trigger("wait"), trigger("prioritized"), trigger("active")],
    },
  } satisfies IScaledObject;
}

export function workerDisruptionBudget(spec: K8sExportSpec, pool: WorkerPool): Manifest {
  const labels = labelsOf("worker", pool.queue);
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadataOf(spec, workerName(pool.queue), labels),
    spec: { maxUnavailable: "10%", selector: { matchLabels: labels }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
  } satisfies IPodDisruptionBudget;
}

/** KEDA reads the Redis password from the same Secret the workers use. */
export function redisTriggerAuthentication(spec: K8sExportSpec, secret: string): Manifest {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "TriggerAuthentication",
    metadata: metadataOf(spec, REDIS_TRIGGER_AUTH, labelsOf("autoscaling")),
    spec: { secretTargetRef: [{ parameter: "password", name: secret, key: "password" }] },
  } satisfies ITriggerAuthentication;
}
