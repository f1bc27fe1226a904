/**
 * Options given as a function of the pipeline params (a query, a folder, an algorithm, the gates):
 * which params such a function reads is found by calling it once on the params' defaults, so a
 * step need not list them; those params, and only those, enter the step's cache key.
 */
import { TrainyardError, type Pipeline } from "../../index.js";

/**
 * The params an option reads, in the order it reads them: `declared` when given, none for a fixed
 * value, else those read by calling the function on the defaults of the pipeline's params schema
 * (a param without a default reads as undefined). A function that throws there must be declared.
 */
export function paramsReadBy(
  p: Pipeline<any>,
  stepId: string,
  option: unknown,
  declared?: readonly string[],
): string[] {
  if (declared) return [...declared];
  if (typeof option !== "function") return [];
  const fn = option as (params: unknown) => unknown;
  const names = paramNames(p);
  const read: string[] = [];
  const defaults = paramDefaults(p);
  const recorder = new Proxy(defaults, {
    get(target, key) {
      if (typeof key === "string" && names.has(key) && !read.includes(key)) read.push(key);
      return target[key as string];
    },
    ownKeys() {
      // Spreading or listing the params reads every one of them.
      for (const name of names) if (!read.includes(name)) read.push(name);
      return Reflect.ownKeys(defaults);
    },
  });
  try {
    fn(recorder);
  } catch (err) {
    throw new TrainyardError(
      "PARAM_NOT_DECLARED",
      `step "${stepId}": could not tell which params its function reads; calling it on the params' defaults threw: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { step: stepId, hint: 'list the params it reads in the step\'s `params` option, e.g. params: ["rounds"]' },
    );
  }
  return read;
}

/**
 * Calls a param function at run time with the params the step declared. Reading another param
 * (a branch the defaults did not take) would miss the cache key, so it fails naming the param.
 */
export function callWithParams<T>(
  p: Pipeline<any>,
  stepId: string,
  fn: (params: any) => T,
  params: Readonly<Record<string, unknown>>,
  read: readonly string[],
): T {
  const names = paramNames(p);
  const guarded = new Proxy(params, {
    get(target, key) {
      if (typeof key === "string" && names.has(key) && !read.includes(key)) {
        throw new TrainyardError(
          "PARAM_NOT_DECLARED",
          `step "${stepId}" read param \`${key}\`, which its function did not read on the params' defaults`,
          { step: stepId, param: key, hint: `list every param it reads in its \`params\` option: ${[...read, key]}` },
        );
      }
      return target[key as string];
    },
  });
  return fn(guarded);
}

function paramNames(p: Pipeline<any>): Set<string> {
  return new Set(Object.keys(p.paramsSchema?.shape ?? {}));
}

/** Each param's default, field by field, so that a param without one does not hide the others. */
function paramDefaults(p: Pipeline<any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(p.paramsSchema?.shape ?? {})) {
    const parsed = (field as { safeParse?: (v: unknown) => { success: boolean; data?: unknown } }).safeParse?.(
      undefined,
    );
    if (parsed?.success) out[name] = parsed.data;
  }
  return out;
}
