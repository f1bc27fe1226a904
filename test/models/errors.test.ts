import { describe, expect, it } from "vitest";
import { trainGbdt } from "../../src/lib/models/gbdt/train-gbdt.js";
import { trainLogistic } from "../../src/lib/models/linear/train-logistic.js";
import { trainRidge } from "../../src/lib/models/linear/train-ridge.js";
import { loadModel } from "../../src/lib/models/load-model.js";
import { ModelError, type ModelErrorCode } from "../../src/lib/models/model-error.js";

function expectCode(fn: () => unknown, code: ModelErrorCode): ModelError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    const e = error as ModelError;
    expect(e.code).toBe(code);
    expect(e.hint.length).toBeGreaterThan(10);
    return e;
  }
  throw new Error(`expected ModelError ${code}`);
}

const x = { names: ["a", "b"], columns: [Float64Array.of(1, 2, 3, 4), Float64Array.of(0, 1, 0, 1)], rows: 4 };
const y = Float64Array.of(0, 1, 0, 1);
const trainers = {
  gbdt: (f: typeof x, l: ArrayLike<number>) => trainGbdt(f, l, { numRounds: 2 }),
  logistic: (f: typeof x, l: ArrayLike<number>) => trainLogistic(f, l),
};

describe("bad inputs fail with stable codes and hints", () => {
  for (const [name, train] of Object.entries(trainers)) {
    it(`${name}: single class, empty, constant, lengths, NaN labels`, () => {
      expect(expectCode(() => train(x, [1, 1, 1, 1]), "SINGLE_CLASS_LABEL").message).toMatch(/single class/);
      expectCode(() => train({ names: ["a"], columns: [new Float64Array(0)], rows: 0 }, []), "EMPTY_TRAINING_SET");
      expectCode(
        () =>
          train({ names: ["a", "b"], columns: [Float64Array.of(5, 5, 5, 5), Float64Array.of(1, 1, 1, 1)], rows: 4 }, y),
        "ALL_CONSTANT_FEATURES",
      );
      expectCode(() => train(x, [0, 1, 0]), "LENGTH_MISMATCH");
      expectCode(() => train({ ...x, columns: [x.columns[0], Float64Array.of(1, 2)] }, y), "LENGTH_MISMATCH");
      expect(expectCode(() => train(x, [0, NaN, 1, 0]), "NAN_LABEL").column).toBe("label");
      expectCode(() => train(x, [0, 2, 1, 0]), "INVALID_LABEL");
    });
  }

  it("linear models reject missing feature values; GBDT accepts them", () => {
    const withNaN = { ...x, columns: [Float64Array.of(1, NaN, 3, 4), x.columns[1]] };
    expect(expectCode(() => trainRidge(withNaN, [1, 2, 3, 4]), "MISSING_VALUES").column).toBe("a");
    expect(() => trainGbdt(withNaN, y, { numRounds: 2, minChildWeight: 0 })).not.toThrow();
  });

  it("invalid options, unknown formats and missing features", () => {
    expectCode(() => trainGbdt(x, y, { maxDepth: 0 }), "INVALID_OPTION");
    expectCode(() => trainGbdt(x, y, { earlyStoppingRounds: 3 }), "INVALID_OPTION");
    expectCode(() => loadModel({ format: "sklearn.pickle" }), "UNKNOWN_FORMAT");
    const model = trainGbdt(x, y, { numRounds: 2, minChildWeight: 0 });
    expectCode(() => model.predict({ names: ["a"], columns: [x.columns[0]], rows: 4 }), "FEATURE_MISMATCH");
  });
});
