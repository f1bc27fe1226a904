/**
 * The cluster-wide parts: the ServiceAccount, the ConfigMap holding trainyard.config.mjs, and the
 * orchestrator: one `trainyard daemon` (its leader lease in PostgreSQL makes a second one a
 * standby), probed on its health port.
 */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { K8sExportSpec } from "./k8s-export-spec.js";
import {
  CONFIG_FILE,
  CONFIG_MAP,
  CONTAINER_SECURITY,
  DAEMON_HEALTH_PORT,
  healthProbe,
  envOf,
  HOME_DIR,
  labelsOf,
  type Manifest,
  metadataOf,
  POD_SECURITY,
  SERVICE_ACCOUNT,
  VOLUME_MOUNTS,
  volumesOf,
} from "./pod-parts.js";

export const DAEMON = "trainyard-daemon";
/** The daemon's home volume: its runs' logs and its object cache. */
const ORCHESTRATOR_HOME_GIB = 10;

export function serviceAccount(spec: K8sExportSpec): Manifest {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadataOf(spec, SERVICE_ACCOUNT, labelsOf("identity")),
    // Trainyard never calls the Kubernetes API: no token in its pods.
    automountServiceAccountToken: false,
  } satisfies IServiceAccount;
}

/** trainyard.config.mjs for the cluster: the stores and executor by name, secrets from the environment. */
export function clusterConfigModule(spec: K8sExportSpec): string {
  const s3 = {
    kind: "s3",
    url: `s3://${spec.s3.bucket}${spec.s3.prefix ? `/${spec.s3.prefix}` : ""}`,
    region: spec.s3.region,
    ...(spec.s3.endpoint ? { endpoint: spec.s3.endpoint } : {}),
  };
  return [
    "// Written by `trainyard export k8s`. Secrets are not here: they come from the pods' environment.",
    "const redis = new URL(process.env.TRAINYARD_REDIS_URL);",
    "if (process.env.TRAINYARD_REDIS_PASSWORD) redis.password " +
      "= encodeURIComponent(process.env.TRAINYARD_REDIS_PASSWORD);",
    "",
    "export default {",
    `  home: ${JSON.stringify(HOME_DIR)},`,
    '  metadata: { kind: "postgres", url: process.env.TRAINYARD_METADATA_URL },',
    `  artifacts: { ${Object.entries(s3)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(", ")} },`,
    `  executor: { kind: "queue", redis: redis.href, prefix: ${JSON.stringify(spec.redis.prefix)} },`,
    "};",
    "",
  ].join("\n");
}

export function configMap(spec: K8sExportSpec): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadataOf(spec, CONFIG_MAP, labelsOf("config")),
    data: { "trainyard.config.mjs": clusterConfigModule(spec), "redis-url": spec.redis.url },
  } satisfies IConfigMap;
}

export function daemonDeployment(spec: K8sExportSpec): Manifest {
  const labels = labelsOf("daemon");
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadataOf(spec, DAEMON, labels),
    spec: {
      // One leader at a time: Recreate stops the old daemon (which releases its lease) before the new one starts.
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: SERVICE_ACCOUNT,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 60,
          securityContext: POD_SECURITY,
          containers: [
            {
              name: "daemon",
              image: spec.image,
              command: ["trainyard"],
              args: [
                "daemon",
                spec.modulePath,
                "--config",
                CONFIG_FILE,
                "--health-port",
                String(DAEMON_HEALTH_PORT),
                "--drain-timeout",
                "45000",
              ],
              workingDir: spec.workdir,
              env: envOf(spec, ORCHESTRATOR_HOME_GIB),
              ports: [{ name: "health", containerPort: DAEMON_HEALTH_PORT, protocol: "TCP" }],
              // Bundling the modules comes before the first heartbeat: give start-up two and a half minutes.
              startupProbe: healthProbe("/healthz", 5, 30),
              livenessProbe: healthProbe("/healthz", 10, 3),
              readinessProbe: healthProbe("/readyz", 10, 1),
              resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
              volumeMounts: VOLUME_MOUNTS,
              securityContext: CONTAINER_SECURITY,
            },
          ],
          volumes: volumesOf(ORCHESTRATOR_HOME_GIB),
        },
      },
    },
  } satisfies IDeployment;
}

/** Lets a node drain evict the daemon (runs are adopted by its successor) but never two at once. */
export function daemonDisruptionBudget(spec: K8sExportSpec): Manifest {
  const labels = labelsOf("daemon");
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadataOf(spec, DAEMON, labels),
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  } satisfies IPodDisruptionBudget;
}
