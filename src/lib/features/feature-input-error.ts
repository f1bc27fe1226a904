/**
 * A request row (or raw column) that does not match the fitted inputs. It is the caller's
 * fault, never the model's, so it carries an HTTP status of 400 and names the field, the row
 * and what was expected; the model server renders it as is.
 */
import { TrainyardError } from "../../index.js";

export type FeatureInputErrorCode =
  | "NOT_AN_OBJECT"
  | "MISSING_FIELD"
  | "UNKNOWN_FIELD"
  | "WRONG_TYPE"
  | "NULL_VALUE"
  | "NON_FINITE"
  | "INVALID_TIMESTAMP"
  | "LENGTH_MISMATCH";

export class FeatureInputError extends TrainyardError {
  declare readonly code: FeatureInputErrorCode;
  declare readonly hint: string;
  /** The offending input field (column), when there is one. */
  readonly field?: string;
  /** 0-based index of the offending row in the request, when there is one. */
  readonly row?: number;
  readonly status = 400;

  constructor(code: FeatureInputErrorCode, message: string, fields: { field?: string; row?: number; hint: string }) {
    const where = [
      fields.row === undefined ? "" : `row ${fields.row}`,
      fields.field === undefined ? "" : `field "${fields.field}"`,
    ]
      .filter(Boolean)
      .join(", ");
    super(code, where ? `${message} (${where})` : message, {
      hint: fields.hint,
      field: fields.field,
      row: fields.row,
      column: fields.field,
    });
    this.name = "FeatureInputError";
    this.field = fields.field;
    this.row = fields.row;
  }

  /** The JSON body a server returns for this error. */
  toJSON(): { error: { code: string; message: string; field?: string; row?: number; hint: string } } {
    return { error: { code: this.code, message: this.message, field: this.field, row: this.row, hint: this.hint } };
  }
}

export function isFeatureInputError(err: unknown): err is FeatureInputError {
  return err instanceof FeatureInputError;
}
