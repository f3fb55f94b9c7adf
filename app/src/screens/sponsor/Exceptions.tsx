/**
 * Payroll exceptions for the sponsor to resolve: what a pay run sent that needs a person (a deferral before the
 * entry date, one that does not match the election, pay after termination…), each accepted, corrected with the
 * amounts that should have been withheld, or rejected, with a note. Held money is posted or returned by the server;
 * a correction is checked by the server as a pay run's statement is, and its problems are shown beside the amounts.
 */
import { useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { formatCents, parseCents } from "../../money";
import { session } from "../../session";
import { Field, FieldError } from "../../ui/Field";
import { formProblems } from "../../ui/problems";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { findingText } from "./payrollTexts";
import { useAction } from "../../ui/useAction";

type Exception = Schemas["ExceptionOut"];
type Action = "accept" | "correct" | "reject";

// The money types a statement withholds (backend/payroll/models.py WITHHOLDING_TYPES), as the API names them.
const MONEY_TYPES: [string, MessageKey][] = [["pretax", "pSource_pretax"], ["roth", "pSource_roth"],
  ["pretax_catchup", "pSource_pretax_catchup"], ["roth_catchup", "pSource_roth_catchup"], ["after_tax", "mtAfterTax"]];
const FIELDS = [...MONEY_TYPES.map(([type]) => `withholdings.${type}`), "withholdings", "note"];

/** What the form starts from: the election's amount where the exception says what was expected of one type. */
function startingAmounts(exception: Exception, locale: string): Record<string, string> {
  const details = (exception.details ?? {}) as { money_type?: string; expected_cents?: number };
  if (exception.code === "deferral_mismatch" && details.money_type && Number.isSafeInteger(details.expected_cents)) {
    const shown = formatCents(details.expected_cents ?? 0, locale).replace(/[^\d.,]/g, "");
    return { [details.money_type]: shown };
  }
  return {};
}

async function loadExceptions(): Promise<Exception[]> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return [];
  const page = await call(api.GET("/v1/employers/{employer_id}/payroll-exceptions",
    { params: { path: { employer_id: employerId }, query: { status: "open" } } }));
  return page.data ?? [];
}

export function Exceptions() {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const list = useLoad(loadExceptions);
  const [open, setOpen] = useState<string | null>(null);
  const [note, setNote] = useState("");
  const { busy, error, setError, run } = useAction<ApiError>();
  const [done, setDone] = useState<string | null>(null);
  const [correcting, setCorrecting] = useState(false);
  const [amounts, setAmounts] = useState<Record<string, string>>({});
  const [unreadable, setUnreadable] = useState<string[]>([]);

  function openForm(exception: Exception | null) {
    setOpen(exception?.id ?? null);
    setNote("");
    setError(null);
    setCorrecting(false);
    setUnreadable([]);
    setAmounts(exception ? startingAmounts(exception, locale) : {});
  }

  /** The typed amounts as cents by money type (blank ones left out), or null when one cannot be read. */
  function withholdings(): Record<string, number> | null {
    const cents: Record<string, number> = {};
    const bad: string[] = [];
    for (const [type] of MONEY_TYPES) {
      const text = (amounts[type] ?? "").trim();
      if (!text) continue;
      const value = parseCents(text, locale);
      // JSON carries the cents as a number: one beyond a double's exact integers is refused, never rounded.
      if (value === null || value > BigInt(Number.MAX_SAFE_INTEGER)) bad.push(type);
      else cents[type] = Number(value);
    }
    setUnreadable(bad);
    return bad.length ? null : cents;
  }

  async function resolve(exception: Exception, action: Action) {
    const corrected = action === "correct" ? withholdings() : null;
    if (action === "correct" && !corrected) return;
    await run(async () => {
      await call(api.POST("/v1/payroll-exceptions/{exception_id}/resolve", {
        params: { path: { exception_id: exception.id ?? "" } },
        body: { action, note: note.trim() || null, withholdings: corrected } }));
      setDone(t(action === "accept" ? "exceptionAccepted" : action === "correct" ? "exceptionCorrected"
        : "exceptionRejected"));
      openForm(null);
      list.reload();
    });
  }

  const problems = formProblems(error, FIELDS);
  const shownBeside = FIELDS.some((field) => problems.byField[field]);
  const when = (iso?: string) => (iso ? new Date(iso).toLocaleDateString(locale, { dateStyle: "medium" }) : "");
  return (
    <main class="screen wide">
      <h1>{t("exceptionsTitle")}</h1>
      {done && <p class="notice" role="status" data-testid="resolved">{done}</p>}
      {error && (!shownBeside || problems.general.length > 0) && <ErrorBox error={error} extra={problems.general} />}
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} />
        : !list.data ? <Loading />
        : list.data.length === 0 ? <Empty>{t("noExceptions")}</Empty>
        : (
          <ul class="queue" data-testid="exceptions">
            {list.data.map((exception) => {
              const id = exception.id ?? "";
              return (
                <li key={id} class="card">
                  <p><strong data-testid="finding">{findingText(exception, i18n)}</strong></p>
                  <p class="muted">{t("exceptionMeta", { code: exception.code ?? "", date: when(exception.created_at) })}</p>
                  {open === id ? (
                    <form onSubmit={(e) => e.preventDefault()}>
                      <label for={`note-${id}`}>{t("resolutionNote")}</label>
                      <textarea id={`note-${id}`} value={note}
                        aria-invalid={problems.byField.note ? "true" : undefined}
                        aria-describedby={problems.byField.note ? `note-${id}-error` : undefined}
                        onInput={(e) => setNote(e.currentTarget.value)} />
                      <FieldError id={`note-${id}-error`} messages={problems.byField.note} />
                      {correcting && (
                        <fieldset class="amounts" data-testid="correction">
                          <legend>{t("correctionTitle")}</legend>
                          <p class="hint">{t("correctionHint")}</p>
                          {MONEY_TYPES.map(([type, label]) => (
                            <Field key={type} id={`amount-${id}-${type}`} label={t(label)} value={amounts[type] ?? ""}
                              inputMode="decimal" autocomplete="off"
                              onInput={(e) => setAmounts({ ...amounts, [type]: e.currentTarget.value })}
                              errors={[...(unreadable.includes(type) ? [t("amountUnreadable", { example: formatCents(16615, locale).replace(/[^\d.,]/g, "") })] : []),
                                ...(problems.byField[`withholdings.${type}`] ?? [])]} />
                          ))}
                          <FieldError id={`amounts-${id}-error`} messages={problems.byField.withholdings}
                            prefix={`${t("correctionTitle")}: `} />
                        </fieldset>
                      )}
                      <div class="actions">
                        {correcting ? (
                          <button type="button" disabled={busy} onClick={() => resolve(exception, "correct")}>
                            {t("saveCorrection")}</button>
                        ) : (<>
                          <button type="button" disabled={busy} onClick={() => resolve(exception, "accept")}>
                            {t("acceptException")}</button>
                          <button type="button" class="secondary" onClick={() => { setCorrecting(true); setError(null); }}>
                            {t("correctException")}</button>
                          <button type="button" class="danger" disabled={busy} onClick={() => resolve(exception, "reject")}>
                            {t("rejectException")}</button>
                        </>)}
                        <button type="button" class="secondary" onClick={() => openForm(null)}>
                          {t("cancel")}</button>
                      </div>
                    </form>
                  ) : (
                    <div class="actions">
                      <button type="button" onClick={() => openForm(exception)}>
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
