/**
 * Payroll exceptions for the sponsor to resolve: what a pay run sent that needs a person (a deferral before the
 * entry date, one that does not match the election, pay after termination…), each accepted or rejected with a
 * note. Held money is posted or returned by the server; a correction with other amounts is left to the API.
 */
import { useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../../api/client";
import { useI18n } from "../../i18n";
import { session } from "../../session";
import { formProblems } from "../../ui/problems";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";

type Exception = Schemas["ExceptionOut"];

async function loadExceptions(): Promise<Exception[]> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return [];
  const page = await call(api.GET("/v1/employers/{employer_id}/payroll-exceptions",
    { params: { path: { employer_id: employerId }, query: { status: "open" } } }));
  return page.data ?? [];
}

export function Exceptions() {
  const { t, locale } = useI18n();
  const list = useLoad(loadExceptions);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  async function resolve(exception: Exception, action: "accept" | "reject") {
    setBusy(true);
    setError(null);
    try {
      await call(api.POST("/v1/payroll-exceptions/{exception_id}/resolve", {
        params: { path: { exception_id: exception.id ?? "" } }, body: { action, note: note.trim() || null } }));
      setDone(t(action === "accept" ? "exceptionAccepted" : "exceptionRejected"));
      setOpen(null);
      setNote("");
      list.reload();
    } catch (caught) {
      setError(caught as ApiError);
    } finally {
      setBusy(false);
    }
  }

  const problems = formProblems(error, ["note"]);
  const when = (iso?: string) => (iso ? new Date(iso).toLocaleDateString(locale, { dateStyle: "medium" }) : "");
  return (
    <main class="screen wide">
      <h1>{t("exceptionsTitle")}</h1>
      {done && <p class="notice" role="status" data-testid="resolved">{done}</p>}
      {error && !problems.byField.note && <ErrorBox error={error} extra={problems.general} />}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} />
        : !list.data ? <Loading />
        : list.data.length === 0 ? <Empty>{t("noExceptions")}</Empty>
        : (
          <ul class="queue" data-testid="exceptions">
            {list.data.map((exception) => {
              const id = exception.id ?? "";
              return (
                <li key={id} class="card">
                  <p><strong>{exception.message}</strong></p>
                  <p class="muted">{t("exceptionMeta", { code: exception.code ?? "", date: when(exception.created_at) })}</p>
                  {open === id ? (
                    <form onSubmit={(e) => e.preventDefault()}>
                      <label for={`note-${id}`}>{t("resolutionNote")}</label>
                      <textarea id={`note-${id}`} value={note}
                        aria-invalid={problems.byField.note ? "true" : undefined}
                        aria-describedby={problems.byField.note ? `note-${id}-error` : undefined}
                        onInput={(e) => setNote(e.currentTarget.value)} />
                      {problems.byField.note && (
                        <p class="field-error" id={`note-${id}-error`} role="alert">{problems.byField.note.join(" ")}</p>
                      )}
                      <div class="actions">
                        <button type="button" disabled={busy} onClick={() => resolve(exception, "accept")}>
                          {t("acceptException")}</button>
                        <button type="button" class="danger" disabled={busy} onClick={() => resolve(exception, "reject")}>
                          {t("rejectException")}</button>
                        <button type="button" class="secondary" onClick={() => { setOpen(null); setError(null); }}>
                          {t("cancel")}</button>
                      </div>
                    </form>
                  ) : (
                    <div class="actions">
                      <button type="button" onClick={() => { setOpen(id); setNote(""); setError(null); }}>
                        {t("resolve")}</button>
                    </div>
                  )}
                </li>
              );
            })}
          </ul>
        )}
    </main>
  );
}
