/**
 * `trainyard trigger <pipeline.ts> [--param k=v]... [--profile P] [--idempotency-key K] [--json]`:
 * asks the daemon for a run. Params are validated as `trainyard run` validates them, before
 * anything is recorded; the request goes to the run queue a `RunRequestRecorder` stands for.
 */
import { requestRun, type ManualRunRequest, type RunRequestRecorder } from "../../daemon/request-run.js";
import { queueRecorder } from "../../daemon/queue-recorder.js";
import { has, keyValues, one, usage, type ParsedArgs } from "../args.js";
import { bold, dim, green, yellow } from "../format.js";
import { openHome } from "../open-home.js";

/** `recorder` is where requests go. @default the home's daemon run queue (the tick ledger) */
export async function triggerCommand(args: ParsedArgs, recorder?: RunRequestRecorder): Promise<number> {
  const [modulePath, ...extra] = args.positionals;
  if (!modulePath) {
    throw usage("trainyard trigger needs the path of a pipeline module, e.g. trainyard trigger pipeline.ts");
  }
  if (extra.length) throw usage(`unexpected argument "${extra[0]}"`);
  const ty = await openHome(args);
  try {
    const request = await requestRun(ty, modulePath, {
      overrides: keyValues(args, "param"),
      profile: one(args, "profile"),
      idempotencyKey: one(args, "idempotency-key"),
    });
    const stored = await (recorder ?? queueRecorder(ty)).record(request);
    if (has(args, "json")) {
      process.stdout.write(`${JSON.stringify({ request, recorded: stored !== undefined, ...stored })}\n`);
      return 0;
    }
    report(request, stored);
    return 0;
  } finally {
    await ty.close();
  }
}

function report(request: ManualRunRequest, stored: Awaited<ReturnType<RunRequestRecorder["record"]>> | undefined) {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const params = JSON.stringify(request.resolvedParams);
  const profile = request.profile ? `, profile ${request.profile}` : "";
  if (!stored) {
    const what = `a run of ${bold(request.pipeline)} with params ${params}${profile}`;
    out(`${yellow("validated")} ${what}  ${dim(request.key)}`);
    out(dim("not queued: this installation has no daemon run queue to record it in"));
    return;
  }
  const what = stored.created ? green("queued") : yellow(stored.sameRequest ? "already queued" : "key already used");
  out(`${what} run ${stored.runId} of ${bold(request.pipeline)} with params ${params}${profile}  ${dim(request.key)}`);
  if (!stored.sameRequest) {
    out(dim(`the idempotency key ${request.idempotencyKey} names another request; nothing new was queued`));
  }
}
