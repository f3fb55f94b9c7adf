/**
 * Messages to payroll that were given up on (dead letters): each contribution change payroll did not take after every
 * try, why it failed in the reader's language, and a button to send it again once what failed is fixed (the server
 * puts it back in line, in order). Reached from the dashboard's count of failed messages.
 */
import { useState } from "preact/hooks";
import { api, call, type Schemas } from "../../api/client";
import { hasMessage, useI18n, type MessageKey } from "../../i18n";
import { navigate } from "../../router";
import { session } from "../../session";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { deliveryReason } from "./payrollTexts";

type Message = Schemas["OutboxMessageOut"];
const PAGE = 20;

async function loadPage(cursor?: string) {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return null;
  return call(api.GET("/v1/employers/{employer_id}/payroll-messages",
    { params: { path: { employer_id: employerId }, query: { status: "dead", limit: PAGE, ...(cursor ? { cursor } : {}) } } }));
}

export function PayrollMessages() {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const [messages, setMessages] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const [retrying, setRetrying] = useState<string | null>(null);
  const [retryError, setRetryError] = useState<{ id: string; error: unknown } | null>(null);
  const [done, setDone] = useState(false);
  const first = useLoad(async () => {
    const page = await loadPage();
    setMessages(page?.data ?? []);
    setCursor(page?.next_cursor ?? null);
    return page;
  });

  async function loadMore() {
    if (!cursor) return;
    setMore({ busy: true, error: null });
    try {
      const page = await loadPage(cursor);
      setMessages((previous) => [...previous, ...(page?.data ?? [])]);
      setCursor(page?.next_cursor ?? null);
      setMore({ busy: false, error: null });
    } catch (caught) {
      setMore({ busy: false, error: caught });
    }
  }

  async function retry(id: string) {
    setRetrying(id);
    setRetryError(null);
    setDone(false);
    try {
      await call(api.POST("/v1/payroll-messages/{message_id}/retry", { params: { path: { message_id: id } } }));
      // Back in line: no longer a dead letter, so it leaves this list.
      setMessages((previous) => previous.filter((m) => m.id !== id));
      setDone(true);
    } catch (caught) {
      setRetryError({ id, error: caught });
    } finally {
      setRetrying(null);
    }
  }

  const day = (iso?: string | null) => (iso ? new Date(`${iso.slice(0, 10)}T12:00:00`).toLocaleDateString(locale,
    { dateStyle: "medium" }) : "");
  const topic = (m: Message) => {
    const key = `pmTopic_${(m.topic ?? "").replace(/^payroll\./, "")}`;
    return t(hasMessage(key) ? key : "pmTopicOther");
  };
  const what = (m: Message) => {
    const payload = (m.payload ?? {}) as { action?: string; effective_date?: string; external_id?: string };
    const action = `pmAction_${payload.action ?? ""}`;
    return [payload.external_id ? t("pmEmployee", { id: payload.external_id }) : "",
      hasMessage(action) && payload.effective_date ? t(action as MessageKey, { date: day(payload.effective_date) }) : ""]
      .filter(Boolean).join(" · ");
  };

  return (
    <main class="screen wide">
      <a href="/app/dashboard" onClick={(e) => { e.preventDefault(); navigate("/dashboard"); }}>← {t("pmBack")}</a>
      <h1>{t("pmTitle")}</h1>
      <p class="muted">{t("pmIntro")}</p>
      {done && <p class="notice" role="status" data-testid="retried">{t("pmRetried")}</p>}
      {first.error ? <ErrorBox error={first.error} onRetry={first.reload} />
        : first.loading && messages.length === 0 ? <Loading />
        : messages.length === 0 ? <Empty>{t("pmNone")}</Empty>
        : (
          <ul class="queue" data-testid="payroll-messages">
            {messages.map((m) => {
              const id = m.id ?? "";
              return (
                <li key={id} class="card">
                  <h2>{topic(m)}</h2>
                  {what(m) && <p>{what(m)}</p>}
                  <p><strong>{t("pmReason")}:</strong>{" "}
                    <span data-testid="reason">{m.last_error ? deliveryReason(m.last_error, i18n) : t("pmNoReason")}</span></p>
                  <p class="muted">{t("pmAttempts", { count: m.attempts ?? 0, date: day(m.created_at) })}</p>
                  {retryError?.id === id && <ErrorBox error={retryError.error} />}
                  <div class="actions">
                    <button type="button" disabled={retrying !== null} onClick={() => retry(id)}>
                      {retrying === id ? t("pmRetrying") : t("pmRetry")}</button>
                  </div>
                </li>
              );
            })}
          </ul>
        )}
      {more.error != null && <ErrorBox error={more.error} />}
      {cursor && <button type="button" class="secondary" disabled={more.busy} onClick={loadMore}>
        {more.busy ? t("loading") : t("pmMore")}</button>}
    </main>
  );
}
