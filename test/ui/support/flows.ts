/** Steps the browser tests share: calling the API as another program would, and waiting on it. */
import { expect } from "vitest";
import type { Page } from "playwright-core";

/** A JSON call to the API (mutating calls carry the same-origin header the UI sends). */
export async function callApi<T>(base: string, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", "x-requested-with": "trainyard" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Polls the API until a run has ended; returns its status. */
export async function waitForRunEnd(base: string, runId: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const d = await callApi<{ run: { status: string } }>(base, "GET", `/runs/${encodeURIComponent(runId)}`);
      if (!["queued", "running", "pending"].includes(d.run.status)) return d.run.status;
    } catch {
      // Not recorded yet (a queued launch): ask again.
    }
    if (Date.now() > deadline) throw new Error(`run ${runId} did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The states of the DAG's nodes as the page shows them now. */
export async function nodeStates(page: Page): Promise<Record<string, string>> {
  return page.$$eval(".react-flow__node", (nodes) =>
    Object.fromEntries(
      nodes.map((n) => [
        n.getAttribute("data-id") ?? "",
        n.querySelector(".dag-node")?.getAttribute("data-status") ?? "",
      ]),
    ),
  );
}

/** Fills a launch form field by its param name. */
export async function fillParam(page: Page, name: string, value: string): Promise<void> {
  const field = page.locator(`[name="${name}"]`);
  const tag = await field.evaluate((el) => el.tagName);
  if (tag === "SELECT") await field.selectOption(value);
  else await field.fill(value);
}

export function expectNoExternalFetch(external: string[]): void {
  expect(external, "the UI fetched from outside loopback").toEqual([]);
}
