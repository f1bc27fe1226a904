/** An error as the CLI would print it: code, message, the step or file it names, and the hint. */
import { ApiError } from "../api/client";

interface ErrorLike {
  code?: string;
  message?: string;
  hint?: string;
  step?: string;
  file?: string;
  stack?: string;
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const e = toErrorLike(error);
  return (
    <div className="error-box" role="alert">
      {title && <strong>{title}: </strong>}
      {e.code && <span className="code">{e.code} </span>}
      <span>{e.message}</span>
      {(e.step || e.file) && (
        <div className="small muted">
          {e.step && (
            <>
              step <code>{e.step}</code>{" "}
            </>
          )}
          {e.file && (
            <>
              file <code>{e.file}</code>
            </>
          )}
        </div>
      )}
      {e.hint && (
        <div className="hint">
          <strong>Hint:</strong> {e.hint}
        </div>
      )}
    </div>
  );
}

function toErrorLike(error: unknown): ErrorLike {
  if (error instanceof ApiError) {
    const d = error.body as ErrorLike;
    return { code: error.code, message: error.message, hint: error.hint, step: d.step, file: d.file };
  }
  if (error instanceof Error) return { message: error.message };
  if (error && typeof error === "object") return error as ErrorLike;
  return { message: String(error) };
}

/** What a screen shows while it loads, or when loading failed. */
export function Loading({ error, what }: { error?: unknown; what: string }) {
  if (error) return <ErrorBox error={error} title={`Could not load ${what}`} />;
  return (
    <p className="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}
