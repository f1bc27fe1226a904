/**
 * onnxruntime-node (about 290 MB) is an optional peer dependency: only ONNX models need it, so it
 * is loaded here, on first use, and its absence is reported as something the user can fix.
 */
import { TrainyardError } from "../../../index.js";

export type OnnxRuntime = typeof import("onnxruntime-node");

let runtime: Promise<OnnxRuntime> | undefined;

export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  runtime ??= import("onnxruntime-node").catch((cause: unknown) => {
    runtime = undefined;
    const code = (cause as { code?: string }).code;
    const missing = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
    throw new TrainyardError(
      "OPTIONAL_DEPENDENCY_MISSING",
      missing
        ? "ONNX models need the package onnxruntime-node, which is not installed"
        : `onnxruntime-node is installed but failed to load: ${(cause as Error).message}`,
      {
        package: "onnxruntime-node",
        hint: missing
          ? "run `npm i onnxruntime-node` in your project (it is optional: only ONNX models use it)"
          : "reinstall it with `npm i onnxruntime-node`; its native library must match this platform",
        cause,
      },
    );
  });
  return runtime;
}
