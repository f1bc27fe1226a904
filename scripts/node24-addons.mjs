// Preloaded (NODE_OPTIONS=--import) into every process of the Node 24 test run, child processes
// included: node_modules holds better-sqlite3's addon compiled for Node 20, so loading it is
// redirected to the copy scripts/node24.sh compiled for this Node's ABI.
import process from "node:process";

const addon = process.env.TRAINYARD_BETTER_SQLITE3_ADDON;
if (addon) {
  const dlopen = process.dlopen;
  process.dlopen = (module, filename, ...rest) =>
    dlopen.call(process, module, filename.endsWith("better_sqlite3.node") ? addon : filename, ...rest);
}
