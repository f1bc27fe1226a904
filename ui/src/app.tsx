/**
 * The shell: navigation, the live stream's indicator, and the routes. The Overview ships in the
 * first bundle; every other screen loads when first visited (the run page brings React Flow).
 */
import { lazy, Suspense, type ComponentType, type ReactNode } from "react";
import { useStreamStatus } from "./api/live";
import { Loading } from "./components/error-box";
import { Link, matchRoute, useLocation } from "./router";
import { Overview } from "./screens/overview";

import { prefetchRunOverview } from "./screens/run/overview-prefetch";

// A run page's data and its graph view's code load alongside the page's own code, not after it.
const loadRunPage = () => {
  void import("./dag/dag-view");
  return import("./screens/run/run-page");
};
const RunPageChunk = lazy(loadRunPage);
function RunPage(props: { runId: string; stepId?: string }) {
  prefetchRunOverview(props.runId);
  return <RunPageChunk {...props} />;
}
const RunsList = lazy(() => import("./screens/runs-list"));
const Launch = lazy(() => import("./screens/launch"));
const Triggers = lazy(() => import("./screens/triggers"));
const Models = lazy(() => import("./screens/models"));
const ModelVersionPage = lazy(() => import("./screens/model-version"));
const DataPage = lazy(() => import("./screens/data"));
const Serving = lazy(() => import("./screens/serving"));
const ComparePage = lazy(() => import("./screens/compare/compare-page"));
const Workers = lazy(() => import("./screens/workers"));

interface Route {
  pattern: string;
  render: (p: Record<string, string>) => ReactNode;
}

const ROUTES: Route[] = [
  { pattern: "/", render: () => <Overview /> },
  { pattern: "/runs", render: () => <RunsList /> },
  { pattern: "/runs/:run", render: (p) => <RunPage runId={p.run} /> },
  { pattern: "/runs/:run/steps/:step", render: (p) => <RunPage runId={p.run} stepId={p.step} /> },
  { pattern: "/compare", render: () => <ComparePage /> },
  { pattern: "/launch", render: () => <Launch /> },
  { pattern: "/launch/:pipeline", render: (p) => <Launch pipeline={p.pipeline} /> },
  { pattern: "/triggers", render: () => <Triggers /> },
  { pattern: "/triggers/:pipeline/:name", render: (p) => <Triggers selected={`${p.pipeline}/${p.name}`} /> },
  { pattern: "/models", render: () => <Models /> },
  { pattern: "/models/:model", render: (p) => <Models model={p.model} /> },
  {
    pattern: "/models/:model/versions/:version",
    render: (p) => <ModelVersionPage model={p.model} version={p.version} />,
  },
  { pattern: "/data", render: () => <DataPage /> },
  {
    pattern: "/data/reports/:run/:step/:index",
    render: (p) => <DataPage report={{ run: p.run, step: p.step, index: p.index }} />,
  },
  { pattern: "/serving", render: () => <Serving /> },
  { pattern: "/serving/:model/:alias", render: (p) => <Serving model={p.model} alias={p.alias} /> },
  { pattern: "/workers", render: () => <Workers /> },
];

const NAV: Array<[string, string]> = [
  ["/", "Overview"],
  ["/runs", "Runs"],
  ["/compare", "Compare"],
  ["/launch", "Launch"],
  ["/triggers", "Triggers"],
  ["/models", "Models"],
  ["/data", "Data"],
  ["/serving", "Serving"],
  ["/workers", "Workers"],
];

export function App() {
  const { path } = useLocation();
  const stream = useStreamStatus();
  let content: ReactNode = <NotFound path={path} />;
  for (const r of ROUTES) {
    const params = matchRoute(r.pattern, path);
    if (params) {
      content = r.render(params);
      break;
    }
  }
  const section = "/" + (path.split("/")[1] ?? "");
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="nav" aria-label="Sections">
        <div className="brand">Trainyard</div>
        {NAV.map(([href, label]) => (
          <Link key={href} href={href} aria-current={section === href ? "page" : undefined}>
            {label}
          </Link>
        ))}
        <div className="stream" role="status" data-stream={stream}>
          live updates: {stream === "open" ? "connected" : stream}
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="screen" />}>{content}</Suspense>
      </main>
    </div>
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <div>
      <h1>Not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link href="/">Back to the overview</Link>.
      </p>
    </div>
  );
}

export type Screen<P = object> = ComponentType<P>;
