/**
 * Launch: a form generated from the pipeline's params JSON Schema (defaults and profiles filled
 * in, checked before submit), a plan preview of what would run or be reused and why, then a run.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api/client";
import { endpoints, links } from "../api/endpoints";
import { useApi } from "../api/use-api";
import type { JsonSchema, LaunchResponse, PipelineList, PipelineParams, Plan } from "../api/types";
import { ErrorBox, Loading } from "../components/error-box";
import { StatusBadge } from "../components/status";
import { navigate, useTitle } from "../router";
import { fieldsOf, parseField, toText, type Field } from "./param-form";

export default function Launch({ pipeline }: { pipeline?: string }) {
  useTitle(pipeline ? `Launch ${pipeline}` : "Launch");
  const list = useApi<PipelineList>(endpoints.pipelines());
  return (
    <div>
      <h1>Launch a run</h1>
      <label className="field" style={{ maxWidth: 360 }}>
        Pipeline
        <select value={pipeline ?? ""} onChange={(e) => navigate(links.launch(e.target.value || undefined))}>
          <option value="">choose…</option>
          {(list.data?.pipelines ?? []).map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      {!list.data && <Loading error={list.error} what="pipelines" />}
      {pipeline && <LaunchForm key={pipeline} pipeline={pipeline} />}
    </div>
  );
}

function LaunchForm({ pipeline }: { pipeline: string }) {
  const params = useApi<PipelineParams>(endpoints.params(pipeline));
  const profiles = Object.keys(params.data?.profiles ?? {});
  const [profile, setProfile] = useState<string>("");
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [plan, setPlan] = useState<{ plan?: Plan; error?: unknown; busy?: boolean }>({});
  const [submit, setSubmit] = useState<{ error?: unknown; busy?: boolean }>({});
  const [tried, setTried] = useState(false);

  const fields = useMemo(() => (params.data ? fieldsOf(params.data.jsonSchema as JsonSchema) : []), [params.data]);
  const base = useMemo(
    () => ({ ...(params.data?.defaults ?? {}), ...(profile ? params.data?.profiles[profile] : {}) }),
    [params.data, profile],
  );

  // The profile's values replace what the user has not typed over; typing itself changes nothing here.
  const typedOver = useRef(touched);
  typedOver.current = touched;
  useEffect(() => {
    setTexts((prev) => {
      const next: Record<string, string> = {};
      for (const f of fields) {
        next[f.name] = typedOver.current.has(f.name) ? (prev[f.name] ?? "") : toText(f, base[f.name]);
      }
      return next;
    });
  }, [fields, base]);

  if (!params.data) return <Loading error={params.error} what={`the params of ${pipeline}`} />;

  const parsed = fields.map((f) => ({ f, ...parseField(f, texts[f.name] ?? "") }));
  const errors = parsed.filter((p) => p.error);
  // Only values that differ from the profile's are sent: the server resolves defaults and profile as the CLI does.
  const overrides: Record<string, unknown> = {};
  for (const p of parsed) {
    if (p.error || p.value === undefined) continue;
    if (JSON.stringify(p.value) !== JSON.stringify(base[p.f.name])) overrides[p.f.name] = p.value;
  }
  const body = { params: overrides, profile: profile || undefined };

  const preview = async () => {
    setTried(true);
    if (errors.length) return;
    setPlan({ busy: true });
    try {
      setPlan({ plan: await api.post<Plan>(endpoints.plan(pipeline), body) });
    } catch (error) {
      setPlan({ error });
    }
  };
  const launch = async () => {
    setTried(true);
    if (errors.length) return;
    setSubmit({ busy: true });
    try {
      const key = crypto.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;
      const res = await api.post<LaunchResponse>(endpoints.launch(), { pipeline, ...body }, { "idempotency-key": key });
      navigate(links.run(res.runId));
    } catch (error) {
      setSubmit({ error });
    }
  };

  return (
    <form
      className="grid2"
      onSubmit={(e) => {
        e.preventDefault();
        void launch();
      }}
      noValidate
      aria-label={`Params of ${pipeline}`}
    >
      <div className="panel">
        <label className="field">
          Profile
          <select value={profile} onChange={(e) => setProfile(e.target.value)} name="profile">
            <option value="">(defaults)</option>
            {profiles.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        {fields.length === 0 && <p className="muted">This pipeline takes no params.</p>}
        {parsed.map(({ f, error }) => (
          <ParamField
            key={f.name}
            field={f}
            text={texts[f.name] ?? ""}
            error={tried || touched.has(f.name) ? error : undefined}
            profileValue={profile && params.data!.profiles[profile][f.name] !== undefined}
            onChange={(t) => {
              setTexts({ ...texts, [f.name]: t });
              setTouched(new Set(touched).add(f.name));
            }}
          />
        ))}
        {tried && errors.length > 0 && (
          <p role="alert" className="small" style={{ color: "var(--fail)" }}>
            Fix {errors.length} field{errors.length > 1 ? "s" : ""} first: {errors.map((e) => e.f.name).join(", ")}.
          </p>
        )}
        <div className="row">
          <button type="button" onClick={() => void preview()} disabled={plan.busy}>
            Preview plan
          </button>
          <button type="submit" className="primary" disabled={submit.busy}>
            Launch run
          </button>
        </div>
        {submit.error !== undefined && <ErrorBox error={submit.error} title="Not launched" />}
      </div>
      <div className="panel" aria-live="polite">
        <h2 style={{ marginTop: 0 }}>Plan</h2>
        {plan.error !== undefined && <ErrorBox error={plan.error} />}
        {plan.busy && <p className="muted">Planning…</p>}
        {!plan.plan && !plan.busy && !plan.error && (
          <p className="muted">Preview shows what would run or be reused, and why.</p>
        )}
        {plan.plan && <PlanTable plan={plan.plan} />}
      </div>
    </form>
  );
}

function ParamField({
  field,
  text,
  error,
  onChange,
  profileValue,
}: {
  field: Field;
  text: string;
  error?: string;
  onChange: (t: string) => void;
  profileValue: boolean | "" | undefined;
}) {
  const id = `param-${field.name}`;
  const s = field.schema;
  const describe = [s.description, profileValue ? "set by the profile" : undefined].filter(Boolean).join(" · ");
  const common = {
    id,
    name: field.name,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": `${id}-help`,
  } as const;
  return (
    <label className="field" htmlFor={id}>
      <span>
        <code>{field.name}</code>{" "}
        <span className="muted small">
          {field.kind}
          {field.required ? ", required" : ""}
        </span>
      </span>
      {field.kind === "boolean" ? (
        <select {...common} value={text || "false"} onChange={(e) => onChange(e.target.value)}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : field.kind === "enum" ? (
        <select {...common} value={text} onChange={(e) => onChange(e.target.value)}>
          {!field.required && <option value="">(unset)</option>}
          {s.enum!.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      ) : (
        <input
          {...common}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          inputMode={field.kind === "number" || field.kind === "integer" ? "decimal" : undefined}
        />
      )}
      <span id={`${id}-help`} className="small muted">
        {describe}
      </span>
      {error && (
        <span className="err" role="alert">
          {field.name}: {error}
        </span>
      )}
    </label>
  );
}

function PlanTable({ plan }: { plan: Plan }) {
  const reused = plan.steps.filter((s) => s.action === "reuse").length;
  const later = plan.steps.filter((s) => s.action === "depends").length;
  return (
    <div data-testid="plan">
      <p className="small">
        {plan.steps.length - reused - later} to run, {reused} reused
        {later > 0 && `, ${later} decided once the steps they depend on have run`}.
      </p>
      <table>
        <thead>
          <tr>
            <th>step</th>
            <th>action</th>
            <th>why</th>
          </tr>
        </thead>
        <tbody>
          {plan.steps.map((s) => (
            <tr key={s.step}>
              <td>{s.step}</td>
              <td>
                <StatusBadge status={s.action === "reuse" ? "reused" : s.action === "depends" ? "later" : "run"} />
              </td>
              <td className="small">
                {s.reasons.join("; ")}
                {s.items && ` (${s.items.reused}/${s.items.total} items reused)`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
