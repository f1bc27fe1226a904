/**
 * Opens the Trainyard a command works on. Each field is chosen by the first of: flags (--home,
 * --metadata-url), the environment ($TRAINYARD_HOME, $TRAINYARD_METADATA_URL), trainyard.config.ts
 * (--config, else the one next to the pipeline module, else in the working directory), defaults
 * (./.trainyard with metadata.db and artifacts/ inside).
 */
import { dirname, resolve } from "node:path";
import { Trainyard } from "../engine/trainyard.js";
import { one, type ParsedArgs } from "./args.js";

export async function openHome(args: ParsedArgs, opts: { module?: string } = {}): Promise<Trainyard> {
  return Trainyard.openConfigured({
    home: one(args, "home"),
    metadataUrl: one(args, "metadata-url"),
    configFile: one(args, "config"),
    dir: opts.module ? dirname(resolve(opts.module)) : process.cwd(),
  });
}
