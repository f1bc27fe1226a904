/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the web UI's
 * tests and benchmark. Requests leaving loopback are refused and recorded: the UI must render on
 * a closed network, so a test can assert that nothing was fetched from elsewhere.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { REPO } from "../../engine/support.js";

export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = path.join(REPO, "test-output", "screenshots");

export interface UiBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** URLs the page tried to fetch outside loopback (all refused). */
  external: string[];
  /** Uncaught page errors and console errors. */
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(opts: { colorScheme?: "light" | "dark" } = {}): Promise<UiBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    colorScheme: opts.colorScheme ?? "light",
  });
  const external: string[] = [];
  const errors: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (
      url.protocol === "data:" ||
      url.protocol === "blob:" ||
      url.hostname === "127.0.0.1" ||
      url.hostname === "localhost"
    ) {
      return route.continue();
    }
    external.push(url.href);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // A failed fetch the UI shows as an error box is logged by the browser too; those are expected.
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return { browser, context, page, external, errors, close: () => browser.close() };
}

/** Saves a screenshot of the page under test-output/screenshots/ for review. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
