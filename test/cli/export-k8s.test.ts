/**
 * `trainyard export k8s`: the manifests written for a pipeline with two queues pass the Kubernetes
 * JSON schemas (kubernetes-models 5.1, generated from Kubernetes v1.36.0's OpenAPI) and KEDA's
 * ScaledObject CRD schema (@kubernetes-models/keda 2.0, generated from KEDA v2.19's CRDs), say
 * what each queue needs, and bad input fails naming the field.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { compileK8sExport, type K8sExportOptions } from "../../src/cli/k8s/k8s-export-spec.js";
import { buildK8sManifests } from "../../src/cli/k8s/k8s-manifests.js";
import { isTrainyardError } from "../../src/core/errors.js";
import { cli } from "./support.js";

const FIXTURES = path.join("test", "fixtures", "k8s");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "ty-k8s-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

type Doc = Record<string, any>;

/** Each kind's model validates against its schema and throws naming the path of a wrong field. */
const MODELS: Record<string, (d: Doc) => { validate(): void }> = {
  "v1/ServiceAccount": (d) => new ServiceAccount(d as never),
  "v1/ConfigMap": (d) => new ConfigMap(d as never),
  "apps/v1/Deployment": (d) => new Deployment(d as never),
  "policy/v1/PodDisruptionBudget": (d) => new PodDisruptionBudget(d as never),
  "keda.sh/v1alpha1/ScaledObject": (d) => new ScaledObject(d as never),
  "keda.sh/v1alpha1/TriggerAuthentication": (d) => new TriggerAuthentication(d as never),
};

function validate(doc: Doc): void {
  const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  model(doc).validate();
}

function readManifests(dir: string): Map<string, Doc> {
  const out = new Map<string, Doc>();
  for (const f of fs.readdirSync(dir).sort()) {
    const docs = parseAllDocuments(fs.readFileSync(path.join(dir, f), "utf8"));
    expect(docs, f).toHaveLength(1);
    expect(docs[0].errors, f).toEqual([]);
    out.set(f, docs[0].toJS() as Doc);
  }
  return out;
}

describe("trainyard export k8s", () => {
  const out = path.join(root, "two-queues");
  let manifests: Map<string, Doc>;
  let stdout = "";

  beforeAll(async () => {
    const r = await cli(
      [
        "export",
        "k8s",
        path.join(FIXTURES, "two-queues.ts"),
        ["--image", "registry.example/ml:1.4"],
        ["--s3", "s3://ml-artifacts/trainyard", "--s3-endpoint", "https://minio.storage.svc:9000"],
        ["--redis", "rediss://redis.data.svc:6380/2", "--redis-secret", "redis-auth"],
        ["--namespace", "ml", "--out", out, "--concurrency", "4", "--concurrency", "gpu=1", "--max-workers", "gpu=8"],
      ].flat(),
      path.join(root, "home"),
    );
    expect(r.code, r.stderr).toBe(0);
    stdout = r.stdout;
    manifests = readManifests(out);
  }, 120_000);

  it("writes one object per file, each valid against the Kubernetes and KEDA schemas", () => {
    expect([...manifests.keys()]).toEqual([
      "00-serviceaccount.yaml",
      "01-configmap.yaml",
      "02-redis-triggerauthentication.yaml",
      "10-daemon-deployment.yaml",
      "11-daemon-pdb.yaml",
      "20-worker-default-deployment.yaml",
      "20-worker-default-pdb.yaml",
      "20-worker-default-scaledobject.yaml",
      "20-worker-gpu-deployment.yaml",
      "20-worker-gpu-pdb.yaml",
      "20-worker-gpu-scaledobject.yaml",
    ]);
    for (const [file, doc] of manifests) {
      expect(doc.metadata.namespace, file).toBe("ml");
      expect(() => validate(doc), file).not.toThrow();
    }
    expect(stdout).toMatch(/queue gpu: 0\.\.8 workers x 1 step, 1 GPU each \(train, evaluate\)/);
    expect(stdout).toMatch(/queue default: 0\.\.20 workers x 4 steps \(rows, features\)/);
  });

  it("the schemas refuse what a cluster would refuse (the validation can fail)", () => {
    const gpu = structuredClone(manifests.get("20-worker-gpu-deployment.yaml")!);
    gpu.spec.template.spec.containers[0].resources.limits.memory = "a lot";
    expect(() => validate(gpu)).toThrow(/resources\/limits\/memory/);
    const noSelector = structuredClone(manifests.get("10-daemon-deployment.yaml")!);
    delete noSelector.spec.selector;
    expect(() => validate(noSelector)).toThrow(/selector/);
    const scaled = structuredClone(manifests.get("20-worker-gpu-scaledobject.yaml")!);
    scaled.spec.triggers[0].metadata.listLength = 1; // KEDA's trigger metadata is strings only
    expect(() => validate(scaled)).toThrow(/triggers\/0\/metadata\/listLength/);
    scaled.spec.triggers[0].metadata.listLength = "1";
    scaled.spec.maxReplicaCount = "8";
    expect(() => validate(scaled)).toThrow(/maxReplicaCount/);
  });

  it("gives the gpu queue's workers a GPU and GPU nodes, and the default queue's none", () => {
    const gpu = manifests.get("20-worker-gpu-deployment.yaml")!.spec.template.spec;
    expect(gpu.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(gpu.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    expect(gpu.tolerations).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(gpu.containers[0].args).toEqual([
      "worker",
      "--queue",
      "gpu",
      "--concurrency",
      "1",
      "--config",
      "/etc/trainyard/trainyard.config.mjs",
      "--health-port",
      "8080",
    ]);
    const cpu = manifests.get("20-worker-default-deployment.yaml")!.spec.template.spec;
    expect(cpu.containers[0].resources.limits["nvidia.com/gpu"]).toBeUndefined();
    expect(cpu.nodeSelector).toBeUndefined();
    expect(cpu.containers[0].args).toContain("default");
    expect(manifests.get("20-worker-gpu-deployment.yaml")!.metadata.annotations["trainyard/steps"]).toBe(
      "train,evaluate",
    );
    // KEDA owns the replica count: a re-apply must not reset it.
    expect(manifests.get("20-worker-gpu-deployment.yaml")!.spec.replicas).toBeUndefined();
  });

  it("scales each queue on BullMQ's wait list, prioritized set and active list in Redis", () => {
    const so = manifests.get("20-worker-gpu-scaledobject.yaml")!;
    expect(so.spec.scaleTargetRef.name).toBe("trainyard-worker-gpu");
    expect(so.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 8 });
    expect(so.spec.advanced.scalingModifiers).toMatchObject({ formula: "wait + prioritized + active", target: "1" });
    expect(so.spec.triggers.map((t: Doc) => [t.type, t.name, t.metadata.listName])).toEqual([
      ["redis", "wait", "trainyard:steps.gpu:wait"],
      ["redis", "prioritized", "trainyard:steps.gpu:prioritized"],
      ["redis", "active", "trainyard:steps.gpu:active"],
    ]);
    expect(so.spec.triggers[0].metadata).toMatchObject({ address: "redis.data.svc:6380", databaseIndex: "2" });
    expect(so.spec.triggers[0].metadata.enableTLS).toBe("true");
    expect(so.spec.triggers[0].authenticationRef).toEqual({ name: "trainyard-redis" });
    const auth = manifests.get("02-redis-triggerauthentication.yaml")!;
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: "password", name: "redis-auth", key: "password" }]);
    const cpu = manifests.get("20-worker-default-scaledobject.yaml")!;
    expect(cpu.spec.triggers[0].metadata).toMatchObject({ listName: "trainyard:steps.default:wait", listLength: "4" });
  });

  it("runs one daemon with a Recreate strategy and probes on its health port", () => {
    const daemon = manifests.get("10-daemon-deployment.yaml")!.spec;
    expect(daemon.replicas).toBe(1);
    expect(daemon.strategy).toEqual({ type: "Recreate" });
    const c = daemon.template.spec.containers[0];
    expect(c.args.slice(0, 2)).toEqual(["daemon", "test/fixtures/k8s/two-queues.ts"]);
    expect(c.args).toEqual(expect.arrayContaining(["--health-port", "8080"]));
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
    expect(c.ports).toEqual([{ name: "health", containerPort: 8080, protocol: "TCP" }]);
    const pdb = manifests.get("11-daemon-pdb.yaml")!.spec;
    expect(pdb.selector.matchLabels).toEqual(daemon.selector.matchLabels);
  });

  it("probes each worker on its health port: alive on /healthz, ready on /readyz", () => {
    for (const queue of ["default", "gpu"]) {
      const c = manifests.get(`20-worker-${queue}-deployment.yaml`)!.spec.template.spec.containers[0];
      expect(c.args).toEqual(expect.arrayContaining(["worker", "--queue", queue, "--health-port", "8080"]));
      expect(c.ports).toEqual([{ name: "health", containerPort: 8080, protocol: "TCP" }]);
      expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
      expect(c.startupProbe.httpGet).toEqual({ path: "/healthz", port: "health" });
      expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "health" });
    }
  });

  // The home volume's file system is the node's, larger than its limit: the cache is bounded by the limit.
  it("bounds each pod's object cache at half its home volume's size limit", () => {
    const deployments = [...manifests].filter(([, doc]) => doc.kind === "Deployment");
    expect(deployments.length).toBeGreaterThanOrEqual(3);
    for (const [name, doc] of deployments) {
      const pod = doc.spec.template.spec;
      const home = (pod.volumes as Doc[]).find((v) => v.name === "home")!.emptyDir.sizeLimit as string;
      const env = pod.containers[0].env as Doc[];
      const max = env.find((e) => e.name === "TRAINYARD_OBJECT_CACHE_MAX")?.value;
      expect(max, name).toBe(`${Number.parseInt(home, 10) / 2}GiB`);
      expect(home, name).toMatch(/^\d+Gi$/);
    }
  });

  it("takes credentials from Secrets by reference and never writes one", () => {
    const env = manifests.get("20-worker-gpu-deployment.yaml")!.spec.template.spec.containers[0].env as Doc[];
    const from = Object.fromEntries(env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom]));
    expect(from).toEqual({
      TRAINYARD_METADATA_URL: { secretKeyRef: { name: "trainyard-postgres", key: "url" } },
      TRAINYARD_REDIS_PASSWORD: { secretKeyRef: { name: "redis-auth", key: "password" } },
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: "trainyard-s3", key: "access-key-id" } },
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: "trainyard-s3", key: "secret-access-key" } },
    });
    expect([...manifests.values()].map((d) => d.kind)).not.toContain("Secret");
  });

  it("ships a trainyard.config.mjs that reads its secrets from the environment", async () => {
    const data = manifests.get("01-configmap.yaml")!.data;
    expect(data["redis-url"]).toBe("rediss://redis.data.svc:6380/2");
    const file = path.join(root, "trainyard.config.mjs");
    fs.writeFileSync(file, data["trainyard.config.mjs"]);
    const saved = { ...process.env };
    Object.assign(process.env, {
      TRAINYARD_REDIS_URL: data["redis-url"],
      TRAINYARD_REDIS_PASSWORD: "p@ss word",
      TRAINYARD_METADATA_URL: "postgres://ty@pg/ty",
    });
    try {
      const config = (await import(pathToFileURL(file).href)).default;
      expect(config).toEqual({
        home: "/var/lib/trainyard",
        metadata: { kind: "postgres", url: "postgres://ty@pg/ty" },
        artifacts: {
          kind: "s3",
          url: "s3://ml-artifacts/trainyard",
          region: "us-east-1",
          endpoint: "https://minio.storage.svc:9000",
        },
        executor: { kind: "queue", redis: "rediss://:p%40ss%20word@redis.data.svc:6380/2", prefix: "trainyard" },
      });
    } finally {
      process.env = saved;
    }
  });
});

describe("trainyard export k8s refuses bad input, naming the field", () => {
  it("a pool (queue) that is not a DNS-1123 label names the step and its pool", async () => {
    const r = await cli(
      ["export", "k8s", path.join(FIXTURES, "bad-queue.ts"), "--image", "ml:1", "--s3", "s3://bkt", "--out", root],
      path.join(root, "home"),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("K8S_EXPORT_INVALID");
    expect(r.stderr).toContain('pool (queue) of step "train": "GPU_Nodes" is not a DNS-1123 label');
    expect(fs.existsSync(path.join(root, "20-worker-GPU_Nodes-deployment.yaml"))).toBe(false);
  }, 60_000);

  it("a missing image names --image", async () => {
    const out = path.join(root, "no-image");
    const r = await cli(
      ["export", "k8s", path.join(FIXTURES, "two-queues.ts"), "--s3", "s3://bkt", "--out", out],
      root,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/K8S_EXPORT_INVALID.*--image: an image is required/);
    expect(fs.existsSync(out)).toBe(false);
  }, 60_000);

  const base: K8sExportOptions = {
    pipeline: "p",
    modulePath: "pipeline.ts",
    queues: { default: ["a"], gpu: ["b"] },
    image: "ml:1",
    s3: "s3://bkt",
  };
  const cases: Array<[string, Partial<K8sExportOptions>, RegExp]> = [
    ["a missing bucket", { s3: undefined }, /^--s3: an artifact bucket is required/],
    ["a bucket that is not s3://", { s3: "gs://bkt" }, /^--s3: "gs:\/\/bkt" is not s3:\/\/bucket/],
    ["an uppercase namespace", { namespace: "ML" }, /^--namespace: "ML" is not a DNS-1123 label/],
    ["a queue name too long for a Deployment", { queues: { ["q".repeat(47)]: ["a"] } }, /at most 46 characters/],
    ["a password in the Redis URL", { redis: "redis://:secret@redis:6379" }, /^--redis: the URL holds a password/],
    ["a Redis URL of another scheme", { redis: "http://redis:6379" }, /^--redis: .* is not a redis:\/\//],
    ["a setting for a queue no step uses", { concurrency: ["cpu=2"] }, /^--concurrency: no step runs on queue "cpu"/],
    [
      "a memory that is no quantity",
      { workerMemory: ["gpu=lots"] },
      /^--worker-memory: "lots" is not a Kubernetes quantity/,
    ],
    ["more minimum than maximum workers", { minWorkers: ["5"], maxWorkers: ["2"] }, /^--min-workers: queue default/],
    ["a relative workdir", { workdir: "app" }, /^--workdir: "app" is not an absolute path/],
    ["a key prefix with a colon", { redisPrefix: "ml:prod" }, /^--redis-prefix: "ml:prod" is not a plain key prefix/],
  ];
  for (const [what, change, message] of cases) {
    it(`${what} fails with K8S_EXPORT_INVALID`, () => {
      let thrown: unknown;
      try {
        compileK8sExport({ ...base, ...change });
      } catch (err) {
        thrown = err;
      }
      expect(isTrainyardError(thrown) && thrown.code).toBe("K8S_EXPORT_INVALID");
      expect((thrown as Error).message).toMatch(message);
    });
  }

  it("another key prefix moves every trigger's key", () => {
    const files = buildK8sManifests(compileK8sExport({ ...base, redisPrefix: "ml-prod" }));
    const so = files.find((f) => f.file === "20-worker-gpu-scaledobject.yaml")!.manifest as Doc;
    expect(so.spec.triggers.map((t: Doc) => t.metadata.listName)).toEqual([
      "ml-prod:steps.gpu:wait",
      "ml-prod:steps.gpu:prioritized",
      "ml-prod:steps.gpu:active",
    ]);
    const config = (files.find((f) => f.file === "01-configmap.yaml")!.manifest as Doc).data["trainyard.config.mjs"];
    expect(config).toContain('executor: { kind: "queue", redis: redis.href, prefix: "ml-prod" }');
  });

  it("defaults give a valid deployment without Redis authentication", () => {
    const files = buildK8sManifests(compileK8sExport(base));
    for (const f of files) expect(() => validate(f.manifest), f.file).not.toThrow();
    expect(files.map((f) => f.file)).not.toContain("02-redis-triggerauthentication.yaml");
    const so = files.find((f) => f.file === "20-worker-default-scaledobject.yaml")!.manifest as Doc;
    expect(so.spec.triggers[0].authenticationRef).toBeUndefined();
    expect(so.spec.triggers[0].metadata).toEqual({
      address: "redis:6379",
      listName: "trainyard:steps.default:wait",
      listLength: "1",
      databaseIndex: "0",
    });
  });
});
