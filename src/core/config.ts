/** `trainyard.config.ts`: project-wide settings and shared param profiles. */
import type { TriggerDecl } from "./triggers.js";

export interface TrainyardConfig {
  /** Where runs and artifacts are kept. @default ".trainyard" next to the config file */
  home?: string;
  /** Named param sets (dev, staging, prod) selected with `--profile`. */
  profiles?: Record<string, Record<string, unknown>>;
  /** Steps run at once. @default the number of CPUs */
  concurrency?: number;
  /** Triggers by the name of the pipeline they start, built with schedule(), sensor(), monitor(), onRunStatus(). */
  triggers?: Record<string, readonly TriggerDecl[]>;
}

export function defineConfig(config: TrainyardConfig): TrainyardConfig {
  return config;
}
