/**
 * A data contract: declared expectations on a dataset, as plain typed data a person edits in a
 * TypeScript module (see `renderContractModule`). `ContractSchema` validates a contract itself
 * (e.g. one loaded from JSON) before it is checked against data.
 */
import { z } from "zod";
import { DataError } from "./data-error.js";

/** Logical types, or any exact DuckDB type name (e.g. "DECIMAL(10,2)"). */
export type ContractType =
  | "integer"
  | "float"
  | "number"
  | "string"
  | "boolean"
  | "date"
  | "timestamp"
  | "time"
  | (string & {});

export interface ColumnContract {
  /** Expected type. */
  type?: ContractType;
  /** May the column hold nulls at all? @default true */
  nullable?: boolean;
  /** Largest allowed fraction of null rows (0..1). */
  maxNullFraction?: number;
  /** Smallest allowed value (number, or ISO date/timestamp text for temporal columns). */
  min?: number | string;
  /** Largest allowed value. */
  max?: number | string;
  /** The only values allowed (compared as text for text columns). */
  allowedValues?: (string | number | boolean)[];
  /** Regular expression every non-null value must fully match (RE2 syntax). */
  pattern?: string;
  /** No two rows share a non-null value. @default false */
  unique?: boolean;
  /** Numbers must not be NaN or +/-Infinity. @default true for float columns */
  finite?: boolean;
  /** The column must exist. @default true */
  required?: boolean;
}

export interface Freshness {
  /** Date/timestamp column whose newest value must be recent. */
  column: string;
  /** Maximum age of the newest value: milliseconds, or text like "36h", "7d", "90m". */
  maxAge: number | string;
  /** Reference "now" (ISO text) — for reproducible checks. @default the current time */
  now?: string;
}

export interface TableContract {
  minRows?: number;
  maxRows?: number;
  freshness?: Freshness;
  /** Columns not in the contract are a violation. @default true (allowed) */
  allowExtraColumns?: boolean;
}

export interface Contract {
  name?: string;
  columns: Record<string, ColumnContract>;
  table?: TableContract;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const ColumnContractSchema = z
  .object({
    type: z.string().min(1).optional(),
    nullable: z.boolean().optional(),
    maxNullFraction: z.number().min(0).max(1).optional(),
    min: z.union([z.number(), z.string()]).optional(),
    max: z.union([z.number(), z.string()]).optional(),
    allowedValues: z.array(scalar).optional(),
    pattern: z
      .string()
      .optional()
      .refine((p) => p === undefined || isRegex(p), { message: "not a valid regular expression" }),
    unique: z.boolean().optional(),
    finite: z.boolean().optional(),
    required: z.boolean().optional(),
  })
  .strict();

export const ContractSchema = z
  .object({
    name: z.string().optional(),
    columns: z.record(z.string(), ColumnContractSchema),
    table: z
      .object({
        minRows: z.number().int().min(0).optional(),
        maxRows: z.number().int().min(0).optional(),
        freshness: z
          .object({
            column: z.string(),
            maxAge: z.union([z.number().positive(), z.string()]),
            now: z.string().optional(),
          })
          .strict()
          .optional(),
        allowExtraColumns: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

function isRegex(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

/** Validates a contract (throws CONTRACT_INVALID listing every problem) and returns it typed. */
export function validateContract(input: unknown): Contract {
  const parsed = ContractSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new DataError("CONTRACT_INVALID", `Contract is invalid: ${problems.join("; ")}`, {
      hint: "Fix the listed fields; see the Contract type for the allowed rules.",
    });
  }
  const contract = parsed.data as Contract;
  for (const [name, col] of Object.entries(contract.columns)) {
    if (typeof col.min === "number" && typeof col.max === "number" && col.min > col.max) {
      throw new DataError("CONTRACT_INVALID", `min ${col.min} is greater than max ${col.max}`, {
        column: name,
        rule: "range",
        hint: "Swap or correct the bounds.",
      });
    }
  }
  if (contract.table?.freshness) parseDuration(contract.table.freshness.maxAge);
  return contract;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds from a number or "90m" / "36h" / "7d" / "2w". */
export function parseDuration(value: number | string): number {
  if (typeof value === "number") return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
  if (!m) {
    throw new DataError("CONTRACT_INVALID", `Cannot read duration "${value}"`, {
      rule: "freshness",
      hint: 'Use milliseconds or text like "90m", "36h", "7d".',
    });
  }
  return Number(m[1]) * (UNITS[m[2]] ?? 1);
}
