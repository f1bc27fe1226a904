/**
 * History-API routing: every screen, run, step, log line and model version has a URL, and the
 * browser's back button walks them. Routes are matched by pattern; query strings carry view state.
 */
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener("popstate", notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const currentHref = () => location.pathname + location.search + location.hash;

/** The current path and query, re-rendering on navigation. */
export function useLocation(): { path: string; query: URLSearchParams; hash: string } {
  const href = useSyncExternalStore(subscribe, currentHref);
  const url = new URL(href, location.origin);
  return { path: url.pathname, query: url.searchParams, hash: url.hash.slice(1) };
}

/** Goes to `href`; `replace` keeps the back button from stepping through view-state changes. */
export function navigate(href: string, opts: { replace?: boolean } = {}): void {
  if (href === currentHref()) return;
  if (opts.replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  notify();
}

/** Matches `/runs/:id/steps/:step` against a path; params come back decoded. */
export function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return undefined;
  }
  return params;
}

/** A link that navigates in-page (a modified click still opens a new tab, as users expect). */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} href={props.href} onClick={onClick} />;
}

/** Builds a path from segments, encoding each. */
export function pathOf(...segments: Array<string | number>): string {
  return "/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
}

/** Sets the document title for a screen. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Trainyard`;
  }, [title]);
}
