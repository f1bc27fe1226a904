import { describe, expect, it } from "vitest";
import { OnnxModel } from "../../src/lib/models/import/onnx-model.js";
import { loadModelAsync } from "../../src/lib/models/load-model.js";
import { ModelError } from "../../src/lib/models/model-error.js";
import { numericSignature } from "../../src/lib/models/feature-matrix.js";
import { logisticOnnx } from "./onnx-protobuf.js";

describe("ONNX models through onnxruntime-node", () => {
  const weights = [0.5, -1.25, 2];
  const bias = 0.1;
  const x = {
    names: ["c", "a", "b"], // deliberately not in signature order
    columns: [Float64Array.of(1, 0, -1, 0.5), Float64Array.of(0, 1, 2, 3), Float64Array.of(-2, 0, 1, 0.25)],
    rows: 4,
  };
  const signature = numericSignature(["a", "b", "c"]);
  const expected = Array.from({ length: 4 }, (_, i) => {
    const z = weights[0] * x.columns[1][i] + weights[1] * x.columns[2][i] + weights[2] * x.columns[0][i] + bias;
    return 1 / (1 + Math.exp(-z));
  });

  it("scores a hand-built MatMul + Add + Sigmoid graph", async () => {
    const model = await OnnxModel.load(logisticOnnx(weights, bias), { task: "binary", signature });
    const p = await model.predict(x);
    // onnxruntime computes in float32.
    p.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-6));
  });

  it("round-trips through JSON", async () => {
    const model = await OnnxModel.load(logisticOnnx(weights, bias), { task: "binary", signature });
    const loaded = await loadModelAsync(JSON.parse(JSON.stringify(model.toJSON())));
    expect(await loaded.predict(x)).toEqual(await model.predict(x));
  });

  it("reports unreadable bytes as a ModelError", async () => {
    await expect(OnnxModel.load(Uint8Array.of(1, 2, 3), { task: "binary", signature })).rejects.toBeInstanceOf(
      ModelError,
    );
  });
});
