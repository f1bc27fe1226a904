/**
 * What the model server needs from a loaded model bundle. The server depends on this small
 * port, not on a model format: `lib/serving` provides the real loader (a bundle directory with
 * `bundle.json`, its `Predictor` fits this shape), tests may pass their own.
 */
export interface ServedPredictor {
  task: "binary" | "multiclass" | "regression";
  label: string;
  /** Class values in output order (classifiers). */
  classes?: ReadonlyArray<string | number>;
  inputFields: Array<{ name: string; type: string }>;
  /** Scores raw rows; throws an error with `status` 4xx (and `field`, `row`) for rows it rejects. */
  predictRows(rows: unknown[]): Promise<unknown[]>;
  /** The same, synchronously, when the model scores in-process: the server skips a promise per batch. */
  predictRowsSync?(rows: unknown[]): unknown[];
  /** Frees native resources (ONNX sessions) once no request uses this predictor. */
  close?(): Promise<void> | void;
}

/** Loads the predictor of a model artifact directory. */
export type PredictorLoader = (dir: string) => Promise<ServedPredictor>;

/** A caller error a predictor raised (a FeatureInputError or alike): rendered, never logged as a crash. */
export interface InputRejection {
  status: number;
  code: string;
  message: string;
  field?: string;
  row?: number;
  hint?: string;
}

export function asInputRejection(err: unknown): InputRejection | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as Partial<InputRejection>;
  if (typeof e.status !== "number" || e.status < 400 || e.status > 499) return undefined;
  return {
    status: e.status,
    code: typeof e.code === "string" ? e.code : "INVALID_INPUT",
    message: typeof e.message === "string" ? e.message : "invalid input",
    field: typeof e.field === "string" ? e.field : undefined,
    row: typeof e.row === "number" ? e.row : undefined,
    hint: typeof e.hint === "string" ? e.hint : undefined,
  };
}

/** The bundle loader of `lib/serving`, imported on first use so that CLI commands not serving skip it. */
export async function defaultPredictorLoader(): Promise<PredictorLoader> {
  const { loadPredictor } = await import("../lib/serving/predictor.js");
  return loadPredictor;
}
