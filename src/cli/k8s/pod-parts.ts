/**
 * The parts every Trainyard pod shares: labels, the environment that points it at PostgreSQL,
 * Redis and S3 (secrets by reference, never by value), the config volume and a hardened
 * container security context.
 */
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IProbe } from "kubernetes-models/v1/Probe";
import type { IPodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
import type { ISecurityContext } from "kubernetes-models/v1/SecurityContext";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import type { K8sExportSpec } from "./k8s-export-spec.js";

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } };

export const CONFIG_MAP = "trainyard-config";
export const SERVICE_ACCOUNT = "trainyard";
export const CONFIG_DIR = "/etc/trainyard";
export const CONFIG_FILE = `${CONFIG_DIR}/trainyard.config.mjs`;
export const HOME_DIR = "/var/lib/trainyard";
export const DAEMON_HEALTH_PORT = 8080;
export const WORKER_HEALTH_PORT = 8080;

/** An HTTP probe on the container's port named `health` (`trainyard daemon|worker --health-port`). */
export function healthProbe(path: string, periodSeconds: number, failureThreshold: number): IProbe {
  return { httpGet: { path, port: "health" }, periodSeconds, timeoutSeconds: 3, failureThreshold };
}

export function labelsOf(component: string, queue?: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "trainyard",
    "app.kubernetes.io/component": component,
    ...(queue ? { "trainyard/queue": queue } : {}),
  };
}

export function metadataOf(spec: K8sExportSpec, name: string, labels: Record<string, string>) {
  return {
    name,
    namespace: spec.namespace,
    labels: { ...labels, "app.kubernetes.io/part-of": "trainyard" },
    annotations: { "trainyard/pipeline": spec.pipeline },
  };
}

function secretEnv(name: string, secret: string, key: string): IEnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/**
 * The pod's environment; `homeGib` is its home volume's size limit. Its object cache may fill half of it:
 * the volume's file system is the node's, larger than the limit, and a pod past its limit is evicted.
 */
export function envOf(spec: K8sExportSpec, homeGib: number): IEnvVar[] {
  return [
    { name: "TRAINYARD_HOME", value: HOME_DIR },
    // The root file system is read-only: anything written under $HOME lands in the home volume.
    { name: "HOME", value: HOME_DIR },
    { name: "TRAINYARD_CACHE_DIR", value: `${HOME_DIR}/cache` },
    { name: "TRAINYARD_OBJECT_CACHE_MAX", value: `${homeGib / 2}GiB` },
    secretEnv("TRAINYARD_METADATA_URL", spec.postgresSecret, "url"),
    { name: "TRAINYARD_REDIS_URL", valueFrom: { configMapKeyRef: { name: CONFIG_MAP, key: "redis-url" } } },
    ...(spec.redis.secret ? [secretEnv("TRAINYARD_REDIS_PASSWORD", spec.redis.secret, "password")] : []),
    secretEnv("AWS_ACCESS_KEY_ID", spec.s3.secret, "access-key-id"),
    secretEnv("AWS_SECRET_ACCESS_KEY", spec.s3.secret, "secret-access-key"),
    { name: "AWS_REGION", value: spec.s3.region },
    { name: "NODE_OPTIONS", value: "--enable-source-maps" },
  ];
}

export function volumesOf(homeGib: number): IVolume[] {
  return [
    { name: "config", configMap: { name: CONFIG_MAP } },
    { name: "home", emptyDir: { sizeLimit: `${homeGib}Gi` } },
    { name: "tmp", emptyDir: {} },
  ];
}

export const VOLUME_MOUNTS: IVolumeMount[] = [
  { name: "config", mountPath: CONFIG_DIR, readOnly: true },
  { name: "home", mountPath: HOME_DIR },
  { name: "tmp", mountPath: "/tmp" },
];

export const POD_SECURITY: IPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: "RuntimeDefault" },
};

export const CONTAINER_SECURITY: ISecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};
