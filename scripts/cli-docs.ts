// Writes docs/cli.md, the CLI reference, from the command definitions (src/cli/definitions/).
// `npm run docs:cli` after changing a command; test/cli/cli-docs.test.ts fails while it is stale.
import { writeFileSync } from "node:fs";
import { COMMANDS } from "../src/cli/main.js";
import { renderCliReference } from "../src/cli/help.js";

writeFileSync(new URL("../docs/cli.md", import.meta.url), renderCliReference(COMMANDS));
process.stdout.write("wrote docs/cli.md\n");
