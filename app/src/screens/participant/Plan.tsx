/**
 * The participant's plan: eligibility and entry date, where each recent change of rate stands (a push about an
 * election opens here at /election/<id>), skipping an announced escalation, opting out, and the ways to enroll,
 * invest and name beneficiaries.
 */
import { useState } from "preact/hooks";
import { api, call, idempotencyKey, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { totalPercent } from "../../rates";
import { navigate } from "../../router";
import { ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { Stage } from "./Stage";
import { PlanSummary } from "./PlanSummary"; // docapp
import { useAction } from "../../ui/useAction";

type Election = Schemas["ElectionOut"];
const SHOWN = 3;
const ELIGIBILITY: Record<string, MessageKey> = { eligible: "pEligible", waiting: "pWaiting",
  pending_hours: "pPendingHours", terminated: "pTerminated" };
const KIND: Record<string, MessageKey> = { election: "pKindElection", opt_out: "pKindOptOut",
  auto_enroll: "pKindAuto", escalation: "pKindEscalation" };

export function Plan({ electionId }: { electionId?: string }) {
  const { t, locale } = useI18n();
  const loaded = useLoad(() => Promise.all([call(api.GET("/mobile/v1/me")), call(api.GET("/mobile/v1/elections"))])
    .then(([me, elections]) => ({ me, elections })));
  const { busy, error: actionError, run } = useAction();
  const [done, setDone] = useState<string | null>(null);
  const [confirmOptOut, setConfirmOptOut] = useState(false);

  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen"><Loading /></main>;
  const { me, elections } = loaded.data;
  const date = (iso?: string | null) => iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "long" }) : "";
  const eligibility = me.eligibility;
  const focused = electionId ? elections.find((e) => e.id === electionId) : undefined;
  const recent = [...(focused ? [focused] : []), ...elections.filter((e) => e !== focused)].slice(0, SHOWN);
  const enrolled = Boolean(totalPercent((me.election_in_effect ?? me.election_scheduled) as Election | null));

  async function act(action: () => Promise<unknown>, message: string) {
    await run(async () => {
      await action();
      setDone(message);
      setConfirmOptOut(false);
      loaded.reload();
    });
  }
  const skip = (election: Election) => act(() => call(api.POST("/mobile/v1/elections/{election_id}/skip",
    { params: { path: { election_id: election.id ?? "" } } })), t("pSkipped"));
  const optOut = () => act(() => call(api.POST("/mobile/v1/elections/opt-out",
    { params: { header: { "Idempotency-Key": idempotencyKey() } } })), t("pOptedOut"));

  return (
    <main class="screen">
      <h1>{t("pPlanTitle", { plan: me.plan_name ?? "" })}</h1>
      <section class="card" aria-labelledby="eligibility-title" data-testid="eligibility">
        <h2 id="eligibility-title">{t("pEligibilityTitle")}</h2>
        <p><strong>{t(ELIGIBILITY[eligibility?.status ?? ""] ?? "pEligibilityUnknown")}</strong></p>
        {eligibility?.entry_date && <p>{t("pEntryDate", { date: date(eligibility.entry_date) })}</p>}
        {eligibility?.explanation && <p class="muted">{eligibility.explanation}</p>}
        <div class="actions">
          <button type="button" onClick={() => navigate("/rate")}>{enrolled ? t("changeRate") : t("enroll")}</button>
          <button type="button" class="secondary" onClick={() => navigate("/investments")}>{t("pInvestTitle")}</button>
          <button type="button" class="secondary" onClick={() => navigate("/beneficiaries")}>{t("pBenTitle")}</button>
        </div>
      </section>
      {done && <p class="notice" role="status" data-testid="plan-done">{done}</p>}
      {actionError != null && <ErrorBox error={actionError} />}
      <section class="card" aria-labelledby="changes-title">
        <h2 id="changes-title">{t("pChangesTitle")}</h2>
        {recent.length === 0 ? <p class="muted">{t("pNoChanges")}</p> : (
          <ul class="elections">
            {recent.map((election) => (
              <li key={election.id} class={election === focused ? "focused" : ""} data-testid="election">
                <h3>{t(KIND[election.kind ?? ""] ?? "pKindElection")}: {t("rateOfPay", { percent: totalPercent(election) ?? "0" })}</h3>
                <p class="muted">{t("pFrom", { date: date(election.effective_date) })}</p>
                <Stage election={election} />
                {election.kind === "escalation" && election.status === "scheduled" && (
                  <button type="button" class="secondary" disabled={busy} onClick={() => skip(election)}>{t("pSkip")}</button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <PlanSummary />
      {enrolled && (
        <section class="card" aria-labelledby="optout-title">
          <h2 id="optout-title">{t("pOptOutTitle")}</h2>
          <p class="muted">{t("pOptOutHint")}</p>
          {confirmOptOut ? (
            <div class="actions">
              <button type="button" class="danger" disabled={busy} onClick={optOut}>{t("pOptOutConfirm")}</button>
              <button type="button" class="secondary" onClick={() => setConfirmOptOut(false)}>{t("cancel")}</button>
            </div>
          ) : <button type="button" class="secondary" onClick={() => setConfirmOptOut(true)}>{t("pOptOut")}</button>}
        </section>
      )}
    </main>
  );
}
