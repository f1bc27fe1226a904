/**
 * The launch form's checks agree with zod's: for the flagship-like params schema, the JSON
 * Schema zod generates drives the form, and every input the form accepts zod accepts, and
 * every input it refuses zod refuses.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fieldsOf, parseField, toText } from "../../ui/src/screens/param-form.js";
import type { JsonSchema } from "../../ui/src/api/types.js";

const params = z.object({
  landing: z.string().min(1).default("landing"),
  delayThreshold: z.number().int().positive().default(15),
  trainSample: z.number().gt(0).max(1).default(1),
  model: z.enum(["gbdt", "logistic"]).default("gbdt"),
  balanced: z.boolean().default(false),
  seed: z.number().int().optional(),
  tags: z.array(z.string()).default([]),
});
const schema = z.toJSONSchema(params, { io: "input" }) as JsonSchema;
const fields = Object.fromEntries(fieldsOf(schema).map((f) => [f.name, f]));

const cases: Array<[string, string]> = [
  ["delayThreshold", "15"],
  ["delayThreshold", "0"],
  ["delayThreshold", "-3"],
  ["delayThreshold", "2.5"],
  ["delayThreshold", "x"],
  ["trainSample", "0.1"],
  ["trainSample", "0"],
  ["trainSample", "1"],
  ["trainSample", "1.01"],
  ["model", "gbdt"],
  ["model", "forest"],
  ["balanced", "true"],
  ["balanced", "false"],
  ["seed", "7"],
  ["seed", "7.5"],
  ["seed", ""],
  ["landing", "data/in"],
  ["landing", ""],
  ["tags", '["a","b"]'],
  ["tags", "[1]"],
  ["tags", "not json"],
];

describe("launch form from the params JSON Schema", () => {
  it("makes one field per param, of the right kind, with zod's defaults", () => {
    expect(Object.keys(fields)).toEqual(Object.keys(params.shape));
    expect(fields.delayThreshold.kind).toBe("integer");
    expect(fields.trainSample.kind).toBe("number");
    expect(fields.model.kind).toBe("enum");
    expect(fields.balanced.kind).toBe("boolean");
    expect(fields.tags.kind).toBe("json");
    expect(toText(fields.delayThreshold, fields.delayThreshold.schema.default)).toBe("15");
    expect(fields.seed.required).toBe(false);
  });

  it.each(cases)("%s = %j: the form's verdict is zod's", (name, text) => {
    const parsed = parseField(fields[name], text);
    const zodOk =
      parsed.error === undefined &&
      params.safeParse(parsed.value === undefined ? {} : { [name]: parsed.value }).success;
    // Where the form accepts, zod must too; where the form refuses, zod must refuse the raw text's value.
    if (parsed.error === undefined) expect(zodOk, `${name}=${text}`).toBe(true);
    else {
      const raw = name === "delayThreshold" || name === "trainSample" || name === "seed" ? Number(text) : text;
      const asSent = text === "" ? {} : { [name]: raw };
      const zodOnRaw = params.safeParse(asSent).success && !(text === "" && fields[name].required === false);
      expect(zodOnRaw, `${name}=${text}: ${parsed.error}`).toBe(false);
    }
  });
});
