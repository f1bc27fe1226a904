/**
 * Opens the Trainyard home named by --home, $TRAINYARD_HOME or ./.trainyard. Metadata lives in the
 * home's SQLite file unless $TRAINYARD_METADATA_URL names a PostgreSQL database
 * (postgres://user@host/db), for several machines sharing one record of runs.
 */
import { Trainyard } from "../engine/trainyard.js";
import { one, type ParsedArgs } from "./args.js";

export async function openHome(args: ParsedArgs): Promise<Trainyard> {
  return Trainyard.open({ home: one(args, "home") });
}
