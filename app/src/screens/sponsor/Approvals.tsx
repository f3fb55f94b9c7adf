/**
 * The sponsor's approval queue: each pending election with the employee's name, approved as read (its ETag in
 * If-Match) or rejected with a reason, one at a time or several at once (the bulk endpoint, each election with the
 * ETag read). A 412, or a bulk item refused as changed, means someone changed it since the queue was read: the
 * queue is read again and the sponsor told to review it.
 */
import { useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../../api/client";
import { useI18n } from "../../i18n";
import { totalPercent } from "../../rates";
import { session } from "../../session";
import { formProblems } from "../../ui/problems";
import { FieldError } from "../../ui/Field";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";

type Election = Schemas["ElectionOut"];
interface Row { election: Election; name: string; planId: string }
interface BulkResult { election_id?: string; outcome?: string; problem?: { status?: number } }

async function loadQueue(): Promise<Row[]> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return [];
  const employer = await call(api.GET("/v1/employers/{employer_id}", { params: { path: { employer_id: employerId } } }));
  const rows: Row[] = [];
  for (const plan of employer.plans ?? []) {
    const page = await call(api.GET("/v1/plans/{plan_id}/approvals", { params: { path: { plan_id: plan.id ?? "" } } }));
    const elections = page.data ?? [];
    const people = await Promise.all(elections.map((e) =>
      call(api.GET("/v1/employees/{employee_id}", { params: { path: { employee_id: e.employee_id ?? "" } } }))));
    elections.forEach((election, i) => rows.push({
      election, name: `${people[i].first_name} ${people[i].last_name}`, planId: plan.id ?? "" }));
  }
  return rows;
}

export function Approvals() {
  const { t, locale } = useI18n();
  const queue = useLoad(loadQueue);
  const [done, setDone] = useState<string | null>(null);
  const [stale, setStale] = useState(false);
  const [rejecting, setRejecting] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());

  const begin = () => { setBusy(true); setError(null); setStale(false); setDone(null); };

  async function decide(row: Row, approve: boolean) {
    const election = row.election;
    begin();
    try {
      const options = { params: { path: { election_id: election.id ?? "" }, header: { "If-Match": election.etag ?? "" } } };
      if (approve) await call(api.POST("/v1/elections/{election_id}/approve", { ...options, body: {} }));
      else await call(api.POST("/v1/elections/{election_id}/reject", { ...options, body: { reason } }));
      const percent = totalPercent(election) ?? "0";
      setDone(approve ? t("approved", { name: row.name, percent }) : t("rejected", { name: row.name }));
      setRejecting(null);
      setReason("");
      queue.reload();
    } catch (caught) {
      const apiError = caught as ApiError;
      if (apiError.status === 412) {
        setStale(true);
        setRejecting(null);
        queue.reload();
      } else setError(apiError);
    } finally {
      setBusy(false);
    }
  }

  /** One bulk call per plan; a refused item (changed since read) puts the stale notice up and reloads. */
  async function decideSelected(approve: boolean) {
    const rows = (queue.data ?? []).filter((row) => selected.has(row.election.id ?? ""));
    begin();
    try {
      const results: BulkResult[] = [];
      for (const planId of new Set(rows.map((row) => row.planId))) {
        const elections = rows.filter((row) => row.planId === planId)
          .map((row) => ({ election_id: row.election.id ?? "", etag: row.election.etag ?? "" }));
        const answer = await call(api.POST("/v1/plans/{plan_id}/approvals/bulk", {
          params: { path: { plan_id: planId } },
          body: { decision: approve ? "approve" : "reject", elections, reason: approve ? null : reason } }));
        results.push(...((answer.results ?? []) as BulkResult[]));
      }
      const decided = results.filter((r) => r.outcome === "approved" || r.outcome === "rejected").length;
      setDone(t(approve ? "bulkApproved" : "bulkRejected", { count: decided }));
      if (results.some((r) => r.outcome === "refused")) setStale(true);
      setSelected(new Set());
      setRejecting(null);
      setReason("");
      queue.reload();
    } catch (caught) {
      setError(caught as ApiError);
    } finally {
      setBusy(false);
    }
  }

  const toggle = (id: string) => setSelected((now) => {
    const next = new Set(now);
    if (next.has(id)) next.delete(id); else next.add(id);
    return next;
  });

  const problems = formProblems(error, ["reason"]);
  const date = (iso: string) => new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "medium" });
  const reasonField = (id: string) => (
    <>
      <label for={id}>{t("rejectReason")}</label>
      <textarea id={id} value={reason} required
        aria-invalid={problems.byField.reason ? "true" : undefined}
        aria-describedby={problems.byField.reason ? `${id}-error` : undefined}
        onInput={(e) => setReason(e.currentTarget.value)} />
      <FieldError id={`${id}-error`} messages={problems.byField.reason} />
    </>
  );
  const cancel = () => { setRejecting(null); setError(null); };
  return (
    <main class="screen">
      <h1>{t("approvalsTitle")}</h1>
      {done && <p class="notice" role="status" data-testid="decided">{done}</p>}
      {stale && <p class="notice warn" role="alert" data-testid="stale">{t("changedSinceOpened")}</p>}
      {error && !problems.byField.reason && <ErrorBox error={error} extra={problems.general} />}
      {queue.error ? <ErrorBox error={queue.error} onRetry={queue.reload} />
        : !queue.data ? <Loading />
        : queue.data.length === 0 ? <Empty>{t("noApprovals")}</Empty>
        : (
          <>
            <div class="card bulk" data-testid="bulk">
              <p class="muted">{t("selectedCount", { count: selected.size })}</p>
              {rejecting === "bulk" ? (
                <form onSubmit={(e) => { e.preventDefault(); void decideSelected(false); }}>
                  {reasonField("reason-bulk")}
                  <div class="actions">
                    <button type="submit" class="danger" disabled={busy}>{t("confirmReject")}</button>
                    <button type="button" class="secondary" onClick={cancel}>{t("cancel")}</button>
                  </div>
                </form>
              ) : (
                <div class="actions">
                  <button type="button" disabled={busy || selected.size === 0}
                    onClick={() => decideSelected(true)}>{t("approveSelected")}</button>
                  <button type="button" class="secondary" disabled={busy || selected.size === 0}
                    onClick={() => { setRejecting("bulk"); setReason(""); setError(null); }}>{t("rejectSelected")}</button>
                </div>
              )}
            </div>
            <ul class="queue" data-testid="queue">
              {queue.data.map((row) => {
                const id = row.election.id ?? "";
                return (
                  <li key={id} class="card">
                    <label class="check">
                      <input type="checkbox" checked={selected.has(id)} onChange={() => toggle(id)} />
                      <span>{t("electionOf", { name: row.name, percent: totalPercent(row.election) ?? "0",
                        date: date(row.election.effective_date ?? "") })}</span>
                    </label>
                    {rejecting === id ? (
                      <form onSubmit={(e) => { e.preventDefault(); void decide(row, false); }}>
                        {reasonField(`reason-${id}`)}
                        <div class="actions">
                          <button type="submit" class="danger" disabled={busy}>{t("confirmReject")}</button>
                          <button type="button" class="secondary" onClick={cancel}>{t("cancel")}</button>
                        </div>
                      </form>
                    ) : (
                      <div class="actions">
                        <button type="button" disabled={busy} onClick={() => decide(row, true)}>{t("approve")}</button>
                        <button type="button" class="secondary" disabled={busy}
                          onClick={() => { setRejecting(id); setReason(""); setError(null); }}>{t("reject")}</button>
                      </div>
                    )}
                  </li>
                );
              })}
            </ul>
          </>
        )}
    </main>
  );
}
