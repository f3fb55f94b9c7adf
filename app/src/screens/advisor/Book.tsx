/**
 * The advisor's book: every plan they serve in the one "needs attention" order the API keeps (at risk, approvals
 * waiting, payroll exceptions, unsigned documents, past-due billing, then the rest), each with its reasons as badges
 * and its headline figures; filtered by reason or stage, a page at a time on the API's cursor, and as a CSV file.
 * A table at desktop width, cards on a phone; a plan opens its dashboard.
 */
import { useState } from "preact/hooks";
import { api, call, type Schemas } from "../../api/client";
import type { paths } from "../../api/schema";
import { useI18n, type MessageKey } from "../../i18n";
import { navigate } from "../../router";
import { Money } from "../../ui/Money";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { COMPLIANCE } from "../sponsor/Dashboard";
import { downloadCsv, fractionToPercent, localDecimal, useWide } from "../sponsor/oversight";

type Plan = Schemas["FiguresOut"];
type Query = NonNullable<paths["/v1/book"]["get"]["parameters"]["query"]>;
type Reason = NonNullable<Query["attention"]>;
type Stage = NonNullable<Query["status"]>;
const PAGE = 25;
// The API's order of attention (backend/oversight/models.py ATTENTION_REASONS), each with its badge's words.
export const REASONS: [Reason, MessageKey][] = [["at_risk", "ovReason_at_risk"], ["approvals", "ovReason_approvals"],
  ["exceptions", "ovReason_exceptions"], ["unsigned_documents", "ovReason_unsigned_documents"],
  ["past_due_billing", "ovReason_past_due_billing"]];

/** Every reason a plan needs attention, in the book's order (the API names only the first: `attention`). */
export function reasonsOf(plan: Plan): string[] {
  const applies: Record<Reason, boolean> = {
    at_risk: plan.compliance_status === "at_risk", approvals: (plan.pending_approvals ?? 0) > 0,
    exceptions: (plan.open_exceptions ?? 0) > 0, unsigned_documents: plan.agreement_signed === false,
    past_due_billing: plan.billing_status === "past_due" };
  return REASONS.map(([reason]) => reason).filter((reason) => applies[reason]);
}

export function Badges({ plan }: { plan: Plan }) {
  const { t } = useI18n();
  const reasons = reasonsOf(plan);
  if (reasons.length === 0) return <span class="pill ok">{t("ovReason_none")}</span>;
  return <span class="badges">{reasons.map((reason) => (
    <span key={reason} class={`pill reason-${reason}`}>{t(`ovReason_${reason}` as MessageKey)}</span>))}</span>;
}

export function Book() {
  const { t, locale } = useI18n();
  const wide = useWide();
  const [attention, setAttention] = useState<Reason | "">("");
  const [status, setStatus] = useState<Stage | "">("");
  const [plans, setPlans] = useState<Plan[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const [csvError, setCsvError] = useState<unknown>(null);
  const filters = () => ({ ...(attention ? { attention } : {}), ...(status ? { status } : {}) });
  const first = useLoad(async () => {
    const page = await call(api.GET("/v1/book", { params: { query: { limit: PAGE, ...filters() } } }));
    setPlans(page.data ?? []);
    setCursor(page.next_cursor ?? null);
    return true;
  }, [attention, status]);

  async function loadMore() {
    if (!cursor) return;
    setMore({ busy: true, error: null });
    try {
      const page = await call(api.GET("/v1/book", { params: { query: { limit: PAGE, cursor, ...filters() } } }));
      setPlans((previous) => [...previous, ...(page.data ?? [])]);
      setCursor(page.next_cursor ?? null);
      setMore({ busy: false, error: null });
    } catch (caught) {
      setMore({ busy: false, error: caught });
    }
  }

  async function csv() {
    setCsvError(null);
    try {
      await downloadCsv(api.GET("/v1/book.csv", { params: { query: filters() }, parseAs: "blob" }), "book.csv");
    } catch (caught) {
      setCsvError(caught);
    }
  }

  const open = (plan: Plan) => (e: Event) => { e.preventDefault(); navigate(`/plans/${plan.plan_id}`); };
  const participation = (plan: Plan) => plan.participation_rate == null ? t("ovNone")
    : `${localDecimal(fractionToPercent(plan.participation_rate), locale)} %`;
  const compliance = (plan: Plan) => t(COMPLIANCE[plan.compliance_status ?? "not_computed"] ?? "ovNotComputed")
    + (plan.compliance_margin != null ? ` (${t("ovMarginShort", { points: localDecimal(plan.compliance_margin, locale) })})` : "");
  const link = (plan: Plan) => (
    <a href={`/app/plans/${plan.plan_id}`} onClick={open(plan)}><strong>{plan.employer_name}</strong></a>);

  return (
    <main class="screen wide oversight">
      <div class="title-row">
        <h1>{t("ovBookTitle")}</h1>
        <button type="button" class="secondary" onClick={csv}>{t("ovCsv")}</button>
      </div>
      {csvError != null && <ErrorBox error={csvError} />}
      <div class="filters">
        <label>{t("ovNeedsAttention")}
          <select value={attention} onChange={(e) => { setPlans([]); setAttention(e.currentTarget.value as Reason | ""); }}>
            <option value="">{t("ovAll")}</option>
            {REASONS.map(([reason, key]) => <option key={reason} value={reason}>{t(key)}</option>)}
          </select>
        </label>
        <label>{t("ovStage")}
          <select value={status} onChange={(e) => { setPlans([]); setStatus(e.currentTarget.value as Stage | ""); }}>
            <option value="">{t("ovAll")}</option>
            <option value="setup">{t("ovInSetup")}</option>
            <option value="live">{t("ovStage_live")}</option>
          </select>
        </label>
      </div>
      {first.error ? <ErrorBox error={first.error} onRetry={first.reload} />
        : first.loading && plans.length === 0 ? <Loading />
        : plans.length === 0 ? <Empty>{t("ovNoPlans")}</Empty>
        : wide ? (
          <table class="grid" data-testid="book">
            <caption class="visually-hidden">{t("ovBookTitle")}</caption>
            <thead><tr>
              <th scope="col">{t("ovPlan")}</th><th scope="col">{t("ovNeedsAttention")}</th>
              <th scope="col">{t("ovParticipation")}</th><th scope="col" class="num">{t("ovAssets")}</th>
              <th scope="col" class="num">{t("ovMatchPaid")}</th><th scope="col">{t("complianceTitle")}</th>
            </tr></thead>
            <tbody>{plans.map((plan) => (
              <tr key={plan.plan_id}>
                <th scope="row">{link(plan)}<br /><span class="muted">{plan.plan_name}</span></th>
                <td><Badges plan={plan} /></td>
                <td>{participation(plan)}</td>
                <td class="num"><Money cents={plan.assets_cents ?? 0} /></td>
                <td class="num"><Money cents={plan.match_paid_cents ?? 0} /></td>
                <td>{compliance(plan)}</td>
              </tr>))}
            </tbody>
          </table>
        ) : (
          <ul class="queue" data-testid="book">{plans.map((plan) => (
            <li key={plan.plan_id} class={`card attention-${plan.attention ?? "none"}`}>
              <p>{link(plan)} <span class="muted">· {plan.plan_name}</span></p>
              <Badges plan={plan} />
              <dl class="pairs">
                <div><dt>{t("ovParticipation")}</dt><dd>{participation(plan)}</dd></div>
                <div><dt>{t("ovAssets")}</dt><dd><Money cents={plan.assets_cents ?? 0} /></dd></div>
                <div><dt>{t("ovMatchPaid")}</dt><dd><Money cents={plan.match_paid_cents ?? 0} /></dd></div>
                <div><dt>{t("complianceTitle")}</dt><dd>{compliance(plan)}</dd></div>
              </dl>
            </li>))}
          </ul>
        )}
      {more.error != null && <ErrorBox error={more.error} />}
      {cursor && plans.length > 0 && (
        <button type="button" class="secondary wide" disabled={more.busy} onClick={loadMore}>
          {more.busy ? t("loading") : t("ovLoadMore")}</button>
      )}
    </main>
  );
}
