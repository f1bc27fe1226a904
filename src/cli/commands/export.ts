/** `trainyard export k8s <pipeline.ts>`: Kubernetes manifests for the pipeline's worker queues and its daemon. */
import { mkdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { loadPipelineModule, moduleCacheDir } from "../../engine/module-loader.js";
import { intFlag, one, usage, type ParsedArgs } from "../args.js";
import { bold, dim } from "../format.js";
import { compileK8sExport, type K8sExportOptions } from "../k8s/k8s-export-spec.js";
import { buildK8sManifests, manifestYaml, queuesOf } from "../k8s/k8s-manifests.js";
import { TrainyardError } from "../../core/errors.js";

function many(args: ParsedArgs, key: string): string[] | undefined {
  return args.flags.get(key);
}

export async function exportK8sCommand(args: ParsedArgs): Promise<number> {
  const [modulePath, ...extra] = args.positionals;
  if (!modulePath) throw usage("trainyard export k8s needs a pipeline module, e.g. trainyard export k8s pipeline.ts");
  if (extra.length) throw usage(`unexpected argument "${extra[0]}"`);
  const abs = resolve(modulePath);
  const inImage = relative(process.cwd(), abs);
  if (inImage.startsWith("..") || isAbsolute(inImage)) {
    throw new TrainyardError("K8S_EXPORT_INVALID", `pipeline.ts: ${abs} is outside the working directory`, {
      field: "pipeline.ts",
      file: abs,
      hint: "run the export from the project directory the image holds (its --workdir), naming the module inside it",
    });
  }
  const { pipeline } = await loadPipelineModule(abs, moduleCacheDir(join(process.cwd(), ".trainyard", "cache")));
  const options: K8sExportOptions = {
    pipeline: pipeline.name,
    modulePath: inImage.split(sep).join("/"),
    queues: queuesOf(pipeline.steps.values()),
    image: one(args, "image"),
    namespace: one(args, "namespace"),
    workdir: one(args, "workdir"),
    redis: one(args, "redis"),
    redisSecret: one(args, "redis-secret"),
    redisPrefix: one(args, "redis-prefix"),
    postgresSecret: one(args, "postgres-secret"),
    s3: one(args, "s3"),
    s3Endpoint: one(args, "s3-endpoint"),
    s3Region: one(args, "s3-region"),
    s3Secret: one(args, "s3-secret"),
    gpuQueues: many(args, "gpu-queue"),
    concurrency: many(args, "concurrency"),
    maxWorkers: many(args, "max-workers"),
    minWorkers: many(args, "min-workers"),
    workerCpu: many(args, "worker-cpu"),
    workerMemory: many(args, "worker-memory"),
    drainSeconds: intFlag(args, "drain-seconds"),
  };
  const spec = compileK8sExport(options);
  const out = resolve(one(args, "out") ?? "k8s");
  mkdirSync(out, { recursive: true });
  const files = buildK8sManifests(spec);
  for (const f of files) writeFileSync(join(out, f.file), manifestYaml(f.manifest));
  const near = relative(process.cwd(), out);
  const shown = near && !near.startsWith("..") ? near : out;
  const lines = [`${bold(String(files.length))} manifests for pipeline ${bold(spec.pipeline)} in ${out}`];
  for (const p of spec.pools) {
    const gpu = p.gpu ? ", 1 GPU each" : "";
    lines.push(
      `  queue ${bold(p.queue)}: ${p.minWorkers}..${p.maxWorkers} workers x ${p.concurrency} ` +
        `step${p.concurrency === 1 ? "" : "s"}${gpu}` +
        dim(` (${p.steps.join(", ")})`),
    );
  }
  lines.push(
    dim(
      `apply: kubectl create secret generic ${spec.postgresSecret} ` +
        `--from-literal=url=postgres://... -n ${spec.namespace};` +
        ` the same for ${spec.s3.secret} (access-key-id, secret-access-key); ` +
        `with KEDA installed, kubectl apply -f ${shown}`,
    ),
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
