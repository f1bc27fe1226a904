/**
 * Turns JSON request rows into raw columns, checking every value against the fitted inputs.
 * A model must never score a guess: a missing field, an unknown field, a string where a number
 * was trained, NaN/Infinity or an unparsable timestamp is a 400 naming the row and field,
 * not a NaN that quietly flows into a prediction.
 */
import { parseTimestamp } from "./date-parts.js";
import { FeatureInputError } from "./feature-input-error.js";
import type { FittedFeatures, FittedInput, InputType, RawColumns } from "./feature-spec.js";

export interface RowsOptions {
  /** Ignore fields that are not inputs (e.g. an id or the label) instead of rejecting them. @default false */
  allowUnknownFields?: boolean;
}

interface InputPlan {
  inputs: FittedInput[];
  known: Set<string>;
}

const plans = new WeakMap<FittedFeatures, InputPlan>();

function planOf(fitted: FittedFeatures): InputPlan {
  let plan = plans.get(fitted);
  if (!plan) {
    plan = { inputs: fitted.inputs, known: new Set(fitted.inputs.map((i) => i.name)) };
    plans.set(fitted, plan);
  }
  return plan;
}

const EXPECTED: Record<InputType, string> = {
  number: "a finite number",
  boolean: "true or false",
  string: "a string",
  timestamp: "an ISO-8601 timestamp string (UTC unless an offset is given) or epoch milliseconds",
};

export function rowsToRawColumns(
  fitted: FittedFeatures,
  rows: readonly unknown[],
  options: RowsOptions = {},
): RawColumns {
  if (!Array.isArray(rows)) {
    throw new FeatureInputError("NOT_AN_OBJECT", "expected an array of rows", {
      hint: "send [{...}, {...}] (one object per row)",
    });
  }
  const { inputs, known } = planOf(fitted);
  const n = rows.length;
  const columns: RawColumns["columns"] = {};
  const numeric: (Float64Array | undefined)[] = [];
  const strings: ((string | null)[] | undefined)[] = [];
  for (const input of inputs) {
    if (input.type === "string") {
      const col = new Array<string | null>(n);
      strings.push(col);
      numeric.push(undefined);
      columns[input.name] = col;
    } else {
      const col = new Float64Array(n);
      numeric.push(col);
      strings.push(undefined);
      columns[input.name] = col;
    }
  }
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      throw new FeatureInputError(
        "NOT_AN_OBJECT",
        `row is ${row === null ? "null" : Array.isArray(row) ? "an array" : typeof row}, expected an object`,
        {
          row: r,
          hint: `send one JSON object per row with the fields ${inputs.map((i) => i.name).join(", ")}`,
        },
      );
    }
    const record = row as Record<string, unknown>;
    if (!options.allowUnknownFields) {
      for (const key in record) {
        if (!known.has(key)) {
          throw new FeatureInputError("UNKNOWN_FIELD", `unknown field "${key}"`, {
            row: r,
            field: key,
            hint:
              `the model takes only ${inputs.map((i) => i.name).join(", ")}; remove "${key}" (a misspelled field ` +
              `would otherwise be ignored)`,
          });
        }
      }
    }
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k];
      const value = Object.hasOwn(record, input.name) ? record[input.name] : undefined;
      if (value === undefined) {
        throw new FeatureInputError("MISSING_FIELD", `field "${input.name}" is missing`, {
          row: r,
          field: input.name,
          hint: `add "${input.name}": ${EXPECTED[input.type]}${input.nullable ? " (or null)" : ""}`,
        });
      }
      if (value === null) {
        if (!input.nullable) {
          throw new FeatureInputError(
            "NULL_VALUE",
            `field "${input.name}" is null, but it was never missing in training`,
            {
              row: r,
              field: input.name,
              hint: `send ${EXPECTED[input.type]}`,
            },
          );
        }
        if (input.type === "string") strings[k]![r] = null;
        else numeric[k]![r] = NaN;
        continue;
      }
      if (input.type === "string") {
        if (typeof value !== "string") throw wrongType(input, value, r);
        strings[k]![r] = value;
      } else {
        numeric[k]![r] = numberOf(input, value, r);
      }
    }
  }
  return { rows: n, columns };
}

function numberOf(input: FittedInput, value: unknown, r: number): number {
  switch (input.type) {
    case "boolean":
      if (typeof value !== "boolean") throw wrongType(input, value, r);
      return value ? 1 : 0;
    case "number":
      if (typeof value !== "number") throw wrongType(input, value, r);
      if (!Number.isFinite(value)) {
        throw new FeatureInputError("NON_FINITE", `field "${input.name}" is ${value}, expected a finite number`, {
          row: r,
          field: input.name,
          hint: input.nullable ? "send null for a missing value" : "send a finite number",
        });
      }
      return value;
    default: {
      const ms = typeof value === "string" ? parseTimestamp(value) : typeof value === "number" ? value : undefined;
      if (ms === undefined) throw wrongType(input, value, r);
      if (ms !== ms) {
        throw new FeatureInputError(
          "INVALID_TIMESTAMP",
          `field "${input.name}" is ${JSON.stringify(value)}, which is not a valid timestamp`,
          {
            row: r,
            field: input.name,
            hint: `send ${EXPECTED.timestamp}, e.g. "2001-06-30T14:05:00Z" (a finite number of ms also works)`,
          },
        );
      }
      return ms;
    }
  }
}

function wrongType(input: FittedInput, value: unknown, r: number): FeatureInputError {
  const got = Array.isArray(value)
    ? "an array"
    : typeof value === "string"
      ? `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`
      : `${typeof value} ${JSON.stringify(value)}`;
  return new FeatureInputError("WRONG_TYPE", `field "${input.name}" is ${got}, expected ${EXPECTED[input.type]}`, {
    row: r,
    field: input.name,
    hint: `send ${EXPECTED[input.type]}`,
  });
}
