import { TrainyardError } from "../../index.js";

/**
 * Errors raised by model training, loading and scoring. The `code` is stable (tests and the
 * engine's error boundary match on it); `hint` tells the user what to change.
 */
export type ModelErrorCode =
  | "EMPTY_TRAINING_SET"
  | "SINGLE_CLASS_LABEL"
  | "ALL_CONSTANT_FEATURES"
  | "LENGTH_MISMATCH"
  | "NAN_LABEL"
  | "INVALID_LABEL"
  | "MISSING_VALUES"
  | "FEATURE_MISMATCH"
  | "INVALID_OPTION"
  | "UNKNOWN_FORMAT"
  | "INVALID_MODEL_JSON"
  | "ONNX_ERROR";

export interface ModelErrorFields {
  /** Column (feature or label) the problem was found in, when there is one. */
  column?: string;
  /** What to do about it. */
  hint: string;
  cause?: unknown;
}

export class ModelError extends TrainyardError {
  declare readonly code: ModelErrorCode;
  declare readonly hint: string;
  readonly column: string | undefined;

  constructor(code: ModelErrorCode, message: string, fields: ModelErrorFields) {
    const { column, hint, cause } = fields;
    super(code, message, { hint, cause, ...(column === undefined ? {} : { column }) });
    this.name = "ModelError";
    this.column = column;
  }
}
