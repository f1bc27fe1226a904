/**
 * The engine's tests on every metadata backend, as test/api/api-suite.ts does for the API: SQLite
 * (the home's metadata.db) and PostgreSQL (a real server on loopback, started once per test file,
 * with a fresh database per home). A test that opens homes through `useBackendHomes` runs alike
 * on both; child processes reach the same database through `env`.
 */
import { afterAll, describe } from "vitest";
import { Trainyard } from "../../src/engine/trainyard.js";
import { startPostgres, type TestPostgres } from "../support/postgres.js";
import { requireTools } from "../support/require-tool.js";
import { useHomes } from "./support.js";

export interface EngineBackend {
  kind: "sqlite" | "postgres";
  label: string;
  /** `describe` where the backend can run (PostgreSQL: gated on the server's binaries, failing under CI). */
  describe(name: string, body: () => void): void;
}

export function engineBackends(): EngineBackend[] {
  const postgres = requireTools("postgresql");
  return [
    { kind: "sqlite", label: "SQLite", describe: (name, body) => describe(name, body) },
    { kind: "postgres", label: "PostgreSQL", describe: postgres.describe },
  ];
}

/** A home directory and the metadata database that goes with it. */
export interface BackendHome {
  home: string;
  /** PostgreSQL: the database's URL, which `Trainyard.open` and child processes (through `env`) use. */
  metadataUrl?: string;
  /** Environment for a CLI child process working on this home. */
  env: Record<string, string>;
}

/**
 * Like `useHomes`, on `backend`: homes (and their databases) are removed after each test, the
 * PostgreSQL server after the file's last test. Call inside the backend's `describe`.
 */
export function useBackendHomes(backend: EngineBackend) {
  const homes = useHomes();
  let server: Promise<TestPostgres> | undefined;
  let databases = 0;
  afterAll(async () => {
    await (await server?.catch(() => undefined))?.stop();
  }, 60_000);

  async function newHome(): Promise<BackendHome> {
    const home = homes.tempDir("ty-home-");
    if (backend.kind === "sqlite") return { home, env: { TRAINYARD_HOME: home } };
    server ??= startPostgres();
    const metadataUrl = await (await server).createDatabase(`home_${process.pid}_${++databases}`);
    return { home, metadataUrl, env: { TRAINYARD_HOME: home, TRAINYARD_METADATA_URL: metadataUrl } };
  }

  /** Opens Trainyard on a home made by `newHome`; the caller closes it. */
  function openAt(h: BackendHome): Promise<Trainyard> {
    const metadata = h.metadataUrl ? { kind: "postgres" as const, url: h.metadataUrl } : undefined;
    return Trainyard.open({ home: h.home, metadata });
  }

  return {
    tempDir: homes.tempDir,
    fixtureDir: homes.fixtureDir,
    newHome,
    openAt,
    /** A new home, opened, and closed after the test. */
    async open(): Promise<{ ty: Trainyard; home: string; backendHome: BackendHome }> {
      const backendHome = await newHome();
      const ty = await openAt(backendHome);
      homes.defer(() => ty.close());
      return { ty, home: backendHome.home, backendHome };
    },
    defer: homes.defer,
  };
}
