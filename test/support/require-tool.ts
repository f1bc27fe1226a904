/**
 * The one rule for tests that need a tool or service the machine may lack (SciPy, PostgreSQL,
 * chrt, ...): where it is present they run; where it is missing they are skipped with the reason,
 * except under CI (the `CI` environment variable set), where they FAIL, naming what is missing
 * and how to install it. CI must never pass by skipping.
 *
 *   const sklearn = requireTools("scikit-learn");
 *   sklearn.describe("metrics agree with scikit-learn", () => { ... });
 *   requireTools("chrt").it("runs commands under SCHED_BATCH", async () => { ... });
 *
 * `TRAINYARD_TEST_HIDE_TOOLS=scipy,chrt` (or `all`) makes tools look missing, to check the rule.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, it, type TestFunction } from "vitest";
import { postgresUnavailableReason } from "./postgres.js";

export type ToolName =
  | "python3"
  | "scipy"
  | "scikit-learn"
  | "xgboost"
  | "pandas"
  | "postgresql"
  | "chrt"
  | "make"
  | "snakemake"
  | "chromium"
  | "redis-server"
  | "tmpfs";

interface ToolSpec {
  /** Why the tool cannot be used here, or undefined when it can. */
  probe(): string | undefined;
  /** How to get it, for the failure message. */
  install: string;
}

const PYTHON = "/usr/bin/python3";
const APT = "scripts/ensure-system-deps.sh (as root) installs it";

function pythonModule(module: string, pkg: string): ToolSpec {
  return {
    probe: () => {
      const r = spawnSync(PYTHON, ["-c", `import ${module}`], { encoding: "utf8" });
      if (r.error) return `${PYTHON} cannot be run (${r.error.message})`;
      return r.status === 0 ? undefined : `${PYTHON} cannot import ${module}`;
    },
    install: `apt-get install ${pkg}; ${APT}`,
  };
}

function onPath(command: string, pkg: string, dirs: string[] = []): ToolSpec {
  return {
    probe: () => (findExecutable(command, dirs) ? undefined : `\`${command}\` is not on PATH`),
    install: `apt-get install ${pkg}; ${APT}`,
  };
}

const TOOLS: Record<ToolName, ToolSpec> = {
  python3: pythonModule("json", "python3"),
  scipy: pythonModule("scipy, numpy", "python3-scipy"),
  "scikit-learn": pythonModule("sklearn", "python3-sklearn"),
  xgboost: pythonModule("xgboost", "python3-xgboost"),
  pandas: pythonModule("pandas", "python3-pandas"),
  postgresql: { probe: postgresUnavailableReason, install: `apt-get install postgresql; ${APT}` },
  // The shell launcher runs /usr/bin/chrt by absolute path, so that is the one that counts.
  chrt: {
    probe: () => (existsSync("/usr/bin/chrt") ? undefined : "/usr/bin/chrt is missing"),
    install: `apt-get install util-linux; ${APT}`,
  },
  make: onPath("make", "make"),
  snakemake: onPath("snakemake", "snakemake"),
  chromium: onPath("chromium", "chromium"),
  "redis-server": onPath("redis-server", "redis-server"),
  // A small real file system to fill: mounting one takes root.
  tmpfs: {
    probe: tmpfsUnavailableReason,
    install: "run the suite as root (a test mounts a small tmpfs to fill a real disk)",
  },
};

/** Mounts and unmounts a tiny tmpfs: root alone is not enough where the sandbox forbids mounts. */
function tmpfsUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  const dir = mkdtempSync(join(tmpdir(), "ty-tmpfs-probe-"));
  try {
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { encoding: "utf8" });
    if (mounted.status !== 0)
      return `mount -t tmpfs failed: ${(mounted.stderr || mounted.error?.message || "").trim()}`;
    spawnSync("umount", [dir]);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether this is a CI run, where a missing tool fails its tests. */
export function isCi(): boolean {
  const v = (process.env.CI ?? "").trim().toLowerCase();
  return v !== "" && v !== "0" && v !== "false";
}

function hidden(name: ToolName): boolean {
  const list = (process.env.TRAINYARD_TEST_HIDE_TOOLS ?? "").split(",").map((s) => s.trim());
  return list.includes(name) || list.includes("all");
}

const probed = new Map<ToolName, string | undefined>();

/** Why `name` cannot be used here (probed once per test file), or undefined when it can. */
export function toolMissing(name: ToolName): string | undefined {
  if (hidden(name)) return `hidden by TRAINYARD_TEST_HIDE_TOOLS=${process.env.TRAINYARD_TEST_HIDE_TOOLS}`;
  if (!probed.has(name)) probed.set(name, TOOLS[name].probe());
  return probed.get(name);
}

export interface ToolGate {
  /** True when every tool is present. */
  available: boolean;
  /** What is missing and how to install it; undefined when available. */
  missing?: string;
  /** `describe`, run only where the tools are present (skipped locally, failing under CI otherwise). */
  describe(name: string, body: () => void): void;
  /** `it`, run only where the tools are present (skipped locally, failing under CI otherwise). */
  it(name: string, body: TestFunction, timeout?: number): void;
}

/** Gates tests on tools; see the file comment for the rule. */
export function requireTools(...names: ToolName[]): ToolGate {
  const gaps = names.flatMap((n) => {
    const why = toolMissing(n);
    return why === undefined ? [] : [`${n} (${why}; ${TOOLS[n].install})`];
  });
  if (gaps.length === 0) {
    return {
      available: true,
      describe: (name, body) => describe(name, body),
      it: (name, body, t) => it(name, body, t),
    };
  }

  const missing = `missing ${gaps.join(", ")}`;
  if (isCi()) {
    const fail = () => {
      throw new Error(`${missing}. CI is set, so this test fails instead of skipping: install it on the CI image.`);
    };
    return {
      available: false,
      missing,
      describe: (name, _body) => describe(name, () => it(`needs ${names.join(", ")}`, fail)),
      it: (name, _body, t) => it(name, fail, t),
    };
  }
  console.warn(`skipping tests that need ${names.join(", ")}: ${missing}`);
  return {
    available: false,
    missing,
    describe: (name, body) => describe.skip(`${name} [skipped: ${missing}]`, body),
    it: (name, body, t) => it.skip(`${name} [skipped: ${missing}]`, body, t),
  };
}

function findExecutable(command: string, extraDirs: string[]): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), ...extraDirs]) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
