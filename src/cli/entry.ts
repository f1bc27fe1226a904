/** Process entry of the CLI: run the command, let stdout drain, exit with its code. */
import { main } from "./main.js";

const code = await main(process.argv.slice(2));
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(code);
