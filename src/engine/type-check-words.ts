/**
 * Says in words what a TypeScript assignability error means for a pipeline: which artifact is
 * wired where another is expected, or which option got a value of the wrong type.
 */

const ARTIFACT_WORDS: Record<string, string> = {
  dataset: "a dataset",
  model: "a model",
  file: "a file",
  directory: "a directory",
  json: "a JSON value",
};

const TYPE_WORDS: Record<string, string> = {
  Dataset: "a dataset",
  ModelArtifact: "a model",
  FileArtifact: "a file",
  DirectoryArtifact: "a directory",
  FittedFeatures: "fitted features",
};

/** "Types of property 'x' are incompatible. Type 'string' is not assignable to type 'number'." */
export const PROPERTY_MISMATCH =
  /Types of property '([\w$]+)' are incompatible\.\s+Type '([^']+)' is not assignable to type '([^']+)'/;

/**
 * One sentence for a diagnostic, or undefined when the compiler's own words are the best there are.
 * `message` is the flattened message chain; `subject` the source text the error points at.
 */
export function explainTypeError(message: string, subject: string): string | undefined {
  const artifacts = wiredArtifacts(message);
  const name = /^[\w$.]+$/.test(subject) ? `\`${subject}\`` : "this value";
  if (artifacts) return `${artifacts.given} is wired where ${artifacts.expected} is expected (at ${name})`;
  // An option of an object given where a union is expected: the property that is wrong, in its words.
  const inner = PROPERTY_MISMATCH.exec(message);
  if (inner) {
    const [given, expected] = [describeValueType(inner[2]), describeValueType(inner[3].replace(/ \| undefined$/, ""))];
    if (given && expected && given.kind !== expected.kind)
      return `\`${inner[1]}\` should be ${expected.words}, but is given ${given.words}`;
  }
  const first =
    /^Type '([^']+)' is not assignable to type '([^']+)'/.exec(message) ??
    /^Argument of type '([^']+)' is not assignable to parameter of type '([^']+)'/.exec(message);
  if (!first) return undefined;
  const given = describeValueType(first[1]);
  const expected = describeValueType(first[2].replace(/ \| undefined$/, ""));
  if (!given || !expected || given.kind === expected.kind) return undefined;
  return `${name} should be ${expected.words}, but is given ${given.words}`;
}

/** "a model" and "a dataset" when the chain says one artifact kind is not another. */
function wiredArtifacts(message: string): { given: string; expected: string } | undefined {
  const literal = /Type '"(\w+)"' is not assignable to type '"(\w+)"'/.exec(message);
  if (literal && ARTIFACT_WORDS[literal[1]] && ARTIFACT_WORDS[literal[2]]) {
    return { given: ARTIFACT_WORDS[literal[1]], expected: ARTIFACT_WORDS[literal[2]] };
  }
  const named = /Type '(?:StepRef<)?(\w+)>?' is not assignable to type '(?:StepRef<)?(\w+)>?'/.exec(message);
  if (named && TYPE_WORDS[named[1]] && TYPE_WORDS[named[2]] && named[1] !== named[2]) {
    return { given: TYPE_WORDS[named[1]], expected: TYPE_WORDS[named[2]] };
  }
  return undefined;
}

/** `"50"` -> a string ("50"); `number` -> a number; undefined for types too complex to name. */
function describeValueType(type: string): { kind: string; words: string } | undefined {
  if (/^".*"$/.test(type)) return { kind: "string", words: `the string ${type}` };
  if (/^-?\d+(\.\d+)?$/.test(type)) return { kind: "number", words: `the number ${type}` };
  if (type === "true" || type === "false") return { kind: "boolean", words: `the boolean ${type}` };
  const simple: Record<string, string> = {
    string: "a string",
    number: "a number",
    boolean: "a boolean",
    bigint: "a bigint",
    null: "null",
    undefined: "undefined",
  };
  if (simple[type]) return { kind: type, words: simple[type] };
  if (/^[\w.]+\[\]$/.test(type)) return { kind: "array", words: `an array (${type})` };
  return undefined;
}
