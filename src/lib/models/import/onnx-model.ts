import { alignToSignature, type FeatureMatrix, type InputSignature } from "../feature-matrix.js";
import type { AsyncModel, ModelJson, Task } from "../model.js";
import { ModelError } from "../model-error.js";
import { loadOnnxRuntime } from "./onnx-runtime.js";

export const ONNX_FORMAT = "onnx/v1";

export interface OnnxModelJson extends ModelJson {
  format: typeof ONNX_FORMAT;
  task: Task;
  numClasses: number;
  signature: InputSignature;
  inputName: string;
  outputName: string;
  /** The .onnx protobuf bytes, base64. */
  onnx: string;
}

export interface OnnxModelOptions {
  task: Task;
  /** Feature names in the column order the graph's input expects. */
  signature: InputSignature;
  /** @default 1 */
  numClasses?: number;
  /** @default the graph's first input */
  inputName?: string;
  /**
   * Output holding probabilities (or values); for binary, column 1 when the output has 2 columns. @default the graph's
   * first output
   */
  outputName?: string;
}

type Session = import("onnxruntime-node").InferenceSession;

/**
 * A model scored by onnxruntime-node, an optional peer dependency (`npm i onnxruntime-node`). The
 * graph must take one float32 input of shape [rows, features] and produce [rows] or [rows, outputs].
 * Scoring is asynchronous because onnxruntime's `run` is, hence `AsyncModel`.
 */
export class OnnxModel implements AsyncModel {
  readonly format = ONNX_FORMAT;
  readonly task: Task;
  readonly numClasses: number;
  readonly signature: InputSignature;

  private constructor(
    private readonly session: Session,
    private readonly bytes: Uint8Array,
    readonly inputName: string,
    readonly outputName: string,
    options: OnnxModelOptions,
  ) {
    this.task = options.task;
    this.numClasses = options.numClasses ?? 1;
    this.signature = options.signature;
  }

  static async load(bytes: Uint8Array, options: OnnxModelOptions): Promise<OnnxModel> {
    const ort = await loadOnnxRuntime();
    let session: Session;
    try {
      session = await ort.InferenceSession.create(bytes);
    } catch (cause) {
      throw new ModelError("ONNX_ERROR", `onnxruntime could not load the model: ${(cause as Error).message}`, {
        hint: "check the file is a valid ONNX model with an opset onnxruntime supports",
        cause,
      });
    }
    return new OnnxModel(
      session,
      bytes,
      options.inputName ?? session.inputNames[0],
      options.outputName ?? session.outputNames[0],
      options,
    );
  }

  async predict(features: FeatureMatrix): Promise<Float64Array> {
    const ort = await loadOnnxRuntime();
    const cols = alignToSignature(features, this.signature);
    const rows = features.rows;
    const p = cols.length;
    const data = new Float32Array(rows * p);
    for (let j = 0; j < p; j++) for (let i = 0; i < rows; i++) data[i * p + j] = cols[j][i];
    let result: Record<string, import("onnxruntime-node").Tensor>;
    try {
      result = await this.session.run({ [this.inputName]: new ort.Tensor("float32", data, [rows, p]) });
    } catch (cause) {
      throw new ModelError("ONNX_ERROR", `onnxruntime failed to score: ${(cause as Error).message}`, {
        hint: `the graph input "${this.inputName}" must accept float32 [rows, ${p}]`,
        cause,
      });
    }
    const out = result[this.outputName];
    const values = Float64Array.from(out.data as Float32Array);
    const width = out.dims.length > 1 ? Number(out.dims[1]) : 1;
    // A binary classifier exporting [p(0), p(1)] per row: keep the positive class.
    if (this.task === "binary" && width === 2) return Float64Array.from({ length: rows }, (_, i) => values[2 * i + 1]);
    return values;
  }

  toJSON(): OnnxModelJson {
    return {
      format: ONNX_FORMAT,
      task: this.task,
      numClasses: this.numClasses,
      signature: this.signature,
      inputName: this.inputName,
      outputName: this.outputName,
      onnx: Buffer.from(this.bytes).toString("base64"),
    };
  }

  static fromJSON(json: OnnxModelJson): Promise<OnnxModel> {
    return OnnxModel.load(new Uint8Array(Buffer.from(json.onnx, "base64")), json);
  }
}
