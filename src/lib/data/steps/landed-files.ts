/**
 * Partitions landed in a folder as a map source: `landedFiles` lists the files whose names match
 * a pattern (their digests are its sources, so a new or changed file reruns it, an unchanged one
 * is not re-read), and `ingestEach` ingests each into Parquet, checked against a contract, cached
 * per file.
 */
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type Dataset, TrainyardError, type Pipeline, type StepRef } from "../../../index.js";
import type { Contract } from "../contract.js";
import { ingest } from "../ingest.js";
import { enforceContract } from "./quality-steps.js";
import { callWithParams, paramsReadBy } from "../../params/param-functions.js";

type Param<P> = keyof P & string;

export interface LandedFile {
  /** The file name, e.g. `flights-2001-01.parquet`. */
  name: string;
  path: string;
  /** sha256 of the content. */
  digest: string;
  /** The named groups of `match`, e.g. `{ month: "2001-01" }`. */
  groups: Record<string, string>;
}

export interface LandedFilesOptions<P, K extends Param<P>> {
  /** The folder, relative to the pipeline module or absolute, or a function of the params in `params`. */
  dir: string | ((params: Pick<P, K>) => string);
  /** Pipeline params `dir` reads; they enter the cache key. @default those `dir` reads on the defaults */
  params?: readonly K[];
  /** Which file names count; named groups become `groups`. Files are listed in name order. */
  match: RegExp;
  /** Told to the user when no file matches, e.g. how to land data. */
  hint?: string;
  description?: string;
}

/** Lists the files landed in a folder, for a map step over them. */
export function landedFiles<P, const K extends Param<P> = Param<P>>(
  p: Pipeline<P>,
  id: string,
  opts: LandedFilesOptions<P, K>,
): StepRef<LandedFile[]> {
  const dirOf = opts.dir;
  const read = paramsReadBy(p, id, dirOf, opts.params);
  const folder = (params: unknown) => {
    const dir =
      typeof dirOf === "string" ? dirOf : callWithParams(p, id, dirOf, params as Record<string, unknown>, read);
    return resolve(p.modulePath ? dirname(p.modulePath) : process.cwd(), dir);
  };
  const list = (params: unknown) => {
    const dir = folder(params);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      names = [];
    }
    return names
      .filter((n) => opts.match.test(n))
      .sort()
      .map((n) => join(dir, n));
  };
  return p.step(id, {
    description:
      opts.description ?? `files landed in ${typeof opts.dir === "string" ? opts.dir : "the landing folder"}`,
    params: read as never[],
    config: {
      match: opts.match.source,
      flags: opts.match.flags,
      dir: typeof opts.dir === "string" ? opts.dir : opts.dir.toString(),
    },
    sources: (params) => list(params),
    run: async (ctx) => {
      const files = list(ctx.params);
      if (!files.length) {
        throw new TrainyardError("NOT_FOUND", `no file in ${folder(ctx.params)} matches ${opts.match}`, {
          step: ctx.stepId,
          file: folder(ctx.params),
          hint: opts.hint ?? "land the data files first, or fix `dir` and `match`",
        });
      }
      const out: LandedFile[] = [];
      for (const path of files) {
        const name = path.slice(path.lastIndexOf("/") + 1);
        out.push({ name, path, digest: await ctx.digestFile(path), groups: { ...opts.match.exec(name)?.groups } });
      }
      ctx.log(`${out.length} file(s): ${out.map((f) => f.name).join(", ")}`);
      return out;
    },
  });
}

export interface IngestEachOptions {
  over: StepRef<LandedFile[]>;
  /** Each file must meet it; a violation fails that file's item with the report. */
  contract?: Contract;
  description?: string;
}

/** Ingests each landed file into a Parquet dataset (its `groups` in the meta), cached per file. */
export function ingestEach<P>(p: Pipeline<P>, id: string, opts: IngestEachOptions): StepRef<Dataset[]> {
  return p.map(id, {
    description: opts.description ?? `ingest each file${opts.contract ? " and check it against the contract" : ""}`,
    over: opts.over,
    config: { contract: opts.contract },
    run: async (ctx, file: LandedFile) => {
      const result = await ingest({ path: file.path }, join(ctx.workdir, "data.parquet"));
      const meta = {
        format: "parquet" as const,
        rows: result.rows,
        schema: result.schema,
        summary: result.summary,
        source: file.path,
        ...file.groups,
      };
      const data = ctx.dataset(result.path, meta);
      if (opts.contract) await enforceContract(ctx, { ...data, path: result.path }, opts.contract);
      ctx.log(`${file.name}: ${result.rows} rows`);
      return data;
    },
  });
}
