/**
 * Serving a Trainyard home: the registry and artifact store of one `Trainyard` instance wired
 * into a model server. The CLI and the benchmark start the server through this.
 */
import type { Trainyard } from "../engine/trainyard.js";
import { openRegistry } from "../lib/registry/open-registry.js";
import { startModelServer, type ModelServer, type ModelServerOptions } from "./model-server.js";
import { defaultPredictorLoader } from "./predictor-port.js";

export interface ServeHomeOptions extends Omit<ModelServerOptions, "registry" | "artifactPath" | "loadPredictor"> {
  /** @default 8080 */
  port?: number;
  /** Loopback by default: exposing models is an explicit choice. @default "127.0.0.1" */
  host?: string;
  /** @default the bundle loader of lib/serving */
  loadPredictor?: ModelServerOptions["loadPredictor"];
}

export async function serveHome(
  ty: Trainyard,
  opts: ServeHomeOptions = {},
): Promise<{ server: ModelServer; url: string; port: number }> {
  return startModelServer({
    ...opts,
    registry: openRegistry(ty),
    // A model is verified against its digest before it is loaded: a damaged bundle is never served.
    artifactPath: (digest) => ty.io.verifiedPath(digest, { use: "model load" }),
    loadPredictor: opts.loadPredictor ?? (await defaultPredictorLoader()),
  });
}
