/** Opens the Trainyard home named by --home, $TRAINYARD_HOME or ./.trainyard. */
import { Trainyard } from "../engine/trainyard.js";
import { one, type ParsedArgs } from "./args.js";

export async function openHome(args: ParsedArgs): Promise<Trainyard> {
  return Trainyard.open({ home: one(args, "home") });
}
