/** Loading, error and empty states, the same on every screen. */
import type { ComponentChildren } from "preact";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n";
import { localMessage, problemSummary } from "./problems";

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="state" role="status" aria-live="polite">
      {t("loading")}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

/** The problem's detail and every listed problem not shown beside a field; a retry when there is one. */
export function ErrorBox({ error, extra = [], onRetry }: { error: unknown; extra?: string[]; onRetry?: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const problem = error instanceof ApiError ? error.problem : null;
  const text = !problem ? t("somethingWrong") : problem.status === 0 ? t("offline") : problemSummary(problem, i18n);
  return (
    <div class="error-box" role="alert">
      <p>{text}</p>
      {extra.length > 0 && (
        <ul>
          {extra.map((message) => (
            <li key={message}>{localMessage(message, i18n)}</li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" class="secondary" onClick={onRetry}>
          {t("retry")}
        </button>
      )}
    </div>
  );
}
