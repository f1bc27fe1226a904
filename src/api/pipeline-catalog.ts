/**
 * The pipelines the API knows, by name: the modules given to `trainyard ui` (or startApiServer)
 * and those recorded runs came from. A launch names a pipeline, never a path, so a request can
 * only start code that was given to the server or has run in this home before.
 */
import { resolve } from "node:path";
import { describeError } from "../core/errors.js";
import type { Trainyard } from "../engine/trainyard.js";
import { apiError } from "./api-errors.js";

export interface KnownPipeline {
  name: string;
  modulePath: string;
  source: "module" | "runs";
}

export class PipelineCatalog {
  private fromModules?: Promise<KnownPipeline[]>;
  /** Modules that failed to load, with why: listed in the server's log, not fatal. */
  readonly loadErrors: Array<{ modulePath: string; message: string }> = [];

  constructor(
    private readonly ty: Trainyard,
    private readonly modules: string[],
  ) {}

  async list(): Promise<KnownPipeline[]> {
    const given = await this.givenModules();
    const names = new Set(given.map((p) => p.name));
    const recorded = (await this.ty.query.pipelines())
      .filter((p) => !names.has(p.name))
      .map((p) => ({ name: p.name, modulePath: p.modulePath, source: "runs" as const }));
    return [...given, ...recorded];
  }

  /** The module of a known pipeline; NOT_FOUND listing the known ones. */
  async resolve(name: string): Promise<KnownPipeline> {
    const all = await this.list();
    const found = all.find((p) => p.name === name);
    if (found) return found;
    const known = all.map((p) => p.name).join(", ");
    const hint = known ? `known pipelines: ${known}` : "start `trainyard ui <pipeline.ts>` with the pipeline's module";
    throw apiError("NOT_FOUND", `no known pipeline "${name}"`, hint, { pipeline: name });
  }

  async load(name: string): Promise<Awaited<ReturnType<Trainyard["load"]>>> {
    return this.ty.load((await this.resolve(name)).modulePath);
  }

  private givenModules(): Promise<KnownPipeline[]> {
    this.fromModules ??= (async () => {
      const out: KnownPipeline[] = [];
      for (const m of this.modules) {
        const modulePath = resolve(m);
        try {
          const loaded = await this.ty.load(modulePath);
          out.push({ name: loaded.pipeline.name, modulePath: loaded.modulePath, source: "module" });
        } catch (err) {
          this.loadErrors.push({ modulePath, message: describeError(err).message });
        }
      }
      return out;
    })();
    return this.fromModules;
  }
}
