/**
 * Every manifest of a pipeline's deployment, one object per file, in the order `kubectl apply -f`
 * should create them (config before the pods that mount it, Deployments before what scales them).
 */
import { stringify } from "yaml";
import type { StepDef } from "../../core/step.js";
import type { K8sExportSpec } from "./k8s-export-spec.js";
import { configMap, daemonDeployment, daemonDisruptionBudget, serviceAccount } from "./orchestrator-manifests.js";
import type { Manifest } from "./pod-parts.js";
import {
  redisTriggerAuthentication,
  workerDeployment,
  workerDisruptionBudget,
  workerScaledObject,
} from "./worker-manifests.js";

export type { Manifest } from "./pod-parts.js";

export interface ManifestFile {
  /** File name inside the output directory, e.g. "20-worker-gpu-deployment.yaml". */
  file: string;
  manifest: Manifest;
}

export const DEFAULT_QUEUE = "default";

/** Queue name -> ids of the steps that run on it: a step goes to the queue named after its `pool`. */
export function queuesOf(steps: Iterable<Pick<StepDef, "id" | "options">>): Record<string, string[]> {
  const queues: Record<string, string[]> = {};
  for (const s of steps) (queues[s.options.pool ?? DEFAULT_QUEUE] ??= []).push(s.id);
  return queues;
}

export function buildK8sManifests(spec: K8sExportSpec): ManifestFile[] {
  const files: ManifestFile[] = [
    { file: "00-serviceaccount.yaml", manifest: serviceAccount(spec) },
    { file: "01-configmap.yaml", manifest: configMap(spec) },
  ];
  if (spec.redis.secret) {
    files.push({
      file: "02-redis-triggerauthentication.yaml",
      manifest: redisTriggerAuthentication(spec, spec.redis.secret),
    });
  }
  files.push(
    { file: "10-daemon-deployment.yaml", manifest: daemonDeployment(spec) },
    { file: "11-daemon-pdb.yaml", manifest: daemonDisruptionBudget(spec) },
  );
  for (const pool of spec.pools) {
    const base = `20-worker-${pool.queue}`;
    files.push(
      { file: `${base}-deployment.yaml`, manifest: workerDeployment(spec, pool) },
      { file: `${base}-scaledobject.yaml`, manifest: workerScaledObject(spec, pool) },
      { file: `${base}-pdb.yaml`, manifest: workerDisruptionBudget(spec, pool) },
    );
  }
  return files;
}

/** YAML of one manifest; long strings (the config module) stay block literals. */
export function manifestYaml(m: Manifest): string {
  return stringify(m, { lineWidth: 0, blockQuote: "literal" });
}
