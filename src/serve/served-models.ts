/**
 * The aliases a server answers for, each bound to a loaded predictor, kept in step with the
 * registry. A cheap query (the alias revision) is polled; when it moves, the new version is
 * loaded completely and only then swapped in. Requests already running keep the predictor they
 * started with (each holds its own reference), so a swap drops nothing; the old predictor is
 * closed once its last request finishes.
 */
import { RepeatedFailures } from "../core/repeated-failures.js";
import type { RegistryStore } from "../store/registry-store.js";
import { PredictBatcher } from "./predict-batcher.js";
import type { PredictorLoader, ServedPredictor } from "./predictor-port.js";
import type { ServeMetrics } from "./serve-metrics.js";

/** What to serve: one alias of a model, or every alias of it when `alias` is absent. */
export interface ServeTarget {
  model: string;
  alias?: string;
}

export interface LoadedModel {
  model: string;
  alias: string;
  version: number;
  artifactDigest: string;
  predictor: ServedPredictor;
  /** Scores through the predictor, batching concurrent requests. */
  batcher: PredictBatcher;
  loadedAt: number;
  /** Requests using this predictor right now. */
  inflight: number;
  /** Replaced by a newer version: close when `inflight` drops to 0. */
  retired: boolean;
}

export interface ServedModelsDeps {
  registry: RegistryStore;
  /** Local directory of a stored artifact. */
  artifactPath: (digest: string) => Promise<string>;
  loadPredictor: PredictorLoader;
  metrics: ServeMetrics;
}

export interface ServedModelsOptions {
  /** What to serve. @default every alias of every model, including aliases created later */
  targets?: ServeTarget[];
  /** How often to check the registry for alias moves. @default 200 */
  pollMs?: number;
  /** Retry loads that failed this often even when no alias moved. @default 5000 */
  retryMs?: number;
  /** Most rows scored in one call across concurrent requests; 1 turns batching off. @default 256 */
  maxBatchRows?: number;
  /** Told about loads, swaps and failures, in words (the CLI prints them). */
  onEvent?: (message: string) => void;
}

/** The key a served alias is looked up by (`get`, `getByKey`). */
export const servedKey = (model: string, alias: string) => `${model}/${alias}`;
const keyOf = servedKey;

export class ServedModels {
  private readonly slots = new Map<string, LoadedModel>();
  private readonly errors = new Map<string, string>();
  private revision = -1;
  private lastAttempt = 0;
  private loadedOnce = false;
  private modelCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private polling = false;
  private readonly failures = new RepeatedFailures((line) => this.opts.onEvent?.(line));

  constructor(
    private readonly deps: ServedModelsDeps,
    private readonly opts: ServedModelsOptions = {},
  ) {}

  /** Loads what is to be served, then watches the registry. Load failures are reported by `readiness`. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 200);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Hot path: one map lookup. */
  get(model: string, alias: string): LoadedModel | undefined {
    return this.slots.get(keyOf(model, alias));
  }

  /** `get` by `servedKey(model, alias)`, for callers that cached the key. */
  getByKey(key: string): LoadedModel | undefined {
    return this.slots.get(key);
  }

  list(): LoadedModel[] {
    return [...this.slots.values()];
  }

  /** Why an alias could not be loaded (a broken or missing bundle), if it failed. */
  loadError(model: string, alias: string): string | undefined {
    return this.errors.get(keyOf(model, alias));
  }

  /** Models in the registry at the last refresh: 0 means nothing was ever registered. */
  registeredModels(): number {
    return this.modelCount;
  }

  /** Ready once the first load finished and every explicitly named alias is being served. */
  readiness(): { ready: boolean; missing: string[]; errors: Record<string, string> } {
    const missing = (this.opts.targets ?? [])
      .filter((t) => t.alias !== undefined && !this.slots.has(keyOf(t.model, t.alias)))
      .map((t) => keyOf(t.model, t.alias!));
    const neverLoaded = [...this.errors.keys()].filter((k) => !this.slots.has(k));
    return {
      ready: this.loadedOnce && missing.length === 0 && neverLoaded.length === 0,
      missing: [...new Set([...missing, ...neverLoaded])],
      errors: Object.fromEntries(this.errors),
    };
  }

  /** Marks a request's use of a predictor finished; closes a retired one when it was the last. */
  release(slot: LoadedModel): void {
    slot.inflight--;
    if (slot.retired && slot.inflight === 0) void closeQuietly(slot.predictor);
  }

  /**
   * Checks the alias revision; refreshes when it moved (or failed loads are due a retry). One check at a
   * time: while the registry's database is away, a read waits for it (postgres-reconnect.ts), and a
   * timer firing every 200 ms must not pile up reads meanwhile.
   */
  async poll(): Promise<void> {
    if (this.refreshing || this.polling) return;
    this.polling = true;
    try {
      const rev = await this.deps.registry.aliasRevision();
      const retryDue = this.errors.size > 0 && Date.now() - this.lastAttempt >= (this.opts.retryMs ?? 5000);
      if (rev !== this.revision || retryDue) await this.refresh();
      this.failures.succeeded("registry poll");
    } catch (err) {
      // Said once, then once a minute: the poll runs every 200 ms while the database is away or full.
      this.failures.failed("registry poll", err);
    } finally {
      this.polling = false;
    }
  }

  /** Brings every served alias to the version it points at now; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const { registry } = this.deps;
    // Read the revision first: a move landing during the refresh triggers another one.
    const rev = await registry.aliasRevision();
    this.lastAttempt = Date.now();
    const wanted = await this.wantedAliases();
    this.modelCount = (await registry.listModels()).length;
    const wantedKeys = new Set(wanted.map((a) => keyOf(a.model, a.alias)));
    for (const [key, slot] of this.slots) {
      if (wantedKeys.has(key)) continue;
      this.slots.delete(key);
      this.deps.metrics.setVersion(slot.model, slot.alias, undefined);
      this.retire(slot);
      this.opts.onEvent?.(`stopped serving ${key} (alias removed)`);
    }
    for (const a of wanted) {
      const key = keyOf(a.model, a.alias);
      const current = this.slots.get(key);
      if (current?.version === a.version) continue;
      try {
        const v = await registry.getVersion(a.model, a.version);
        if (!v) throw new Error(`version ${a.version} is not in the registry`);
        const predictor = await this.deps.loadPredictor(await this.deps.artifactPath(v.artifactDigest));
        const slot: LoadedModel = {
          model: a.model,
          alias: a.alias,
          version: a.version,
          artifactDigest: v.artifactDigest,
          predictor,
          batcher: new PredictBatcher(predictor, { maxBatchRows: this.opts.maxBatchRows }),
          loadedAt: Date.now(),
          inflight: 0,
          retired: false,
        };
        this.slots.set(key, slot);
        this.errors.delete(key);
        this.deps.metrics.setVersion(a.model, a.alias, a.version);
        if (current) {
          this.retire(current);
          this.deps.metrics.reloaded(a.model, a.alias, "success");
        }
        this.opts.onEvent?.(
          current ? `${key}: version ${current.version} -> ${a.version}` : `serving ${key} (version ${a.version})`,
        );
      } catch (err) {
        this.errors.set(key, `version ${a.version}: ${(err as Error).message}`);
        this.deps.metrics.reloaded(a.model, a.alias, "failure");
        const still = current ? ` (still serving ${current.version})` : "";
        this.opts.onEvent?.(`failed to load ${key} version ${a.version}${still}: ${(err as Error).message}`);
      }
    }
    for (const key of this.errors.keys()) if (!wantedKeys.has(key)) this.errors.delete(key);
    this.revision = rev;
    this.loadedOnce = true;
  }

  private async wantedAliases(): Promise<Array<{ model: string; alias: string; version: number }>> {
    const { registry } = this.deps;
    const targets = this.opts.targets;
    if (!targets?.length) return registry.listAliases();
    const out: Array<{ model: string; alias: string; version: number }> = [];
    for (const t of targets) {
      if (t.alias === undefined) out.push(...(await registry.listAliases(t.model)));
      else {
        const a = await registry.getAlias(t.model, t.alias);
        if (a) out.push(a);
      }
    }
    return out;
  }

  private retire(slot: LoadedModel): void {
    slot.retired = true;
    if (slot.inflight === 0) void closeQuietly(slot.predictor);
  }

  /** Closes every predictor (server shutdown, after in-flight requests ended). */
  async closeAll(): Promise<void> {
    this.stop();
    await this.refreshing?.catch(() => undefined);
    for (const slot of this.slots.values()) await closeQuietly(slot.predictor);
    this.slots.clear();
  }
}

async function closeQuietly(p: ServedPredictor): Promise<void> {
  try {
    await p.close?.();
  } catch {
    // A predictor that fails to free its resources must not take the server down.
  }
}
