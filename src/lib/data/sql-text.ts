/** SQL literal and identifier quoting, shared by every query builder in this folder. */

/** A SQL string literal: single quotes doubled. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A DOUBLE literal that survives NaN/Infinity and keeps full precision. */
export function sqlNumber(value: number): string {
  if (Number.isNaN(value)) return "'NaN'::DOUBLE";
  if (value === Infinity) return "'Infinity'::DOUBLE";
  if (value === -Infinity) return "'-Infinity'::DOUBLE";
  return `${value.toPrecision(17)}::DOUBLE`;
}

/** A DOUBLE[] literal. */
export function sqlNumberList(values: readonly number[]): string {
  return `[${values.map(sqlNumber).join(", ")}]::DOUBLE[]`;
}

/** A DOUBLE parsed from JavaScript's shortest round-trip text: the very same bits on both sides. */
export function sqlDouble(value: number): string {
  return `'${String(value)}'::DOUBLE`;
}
