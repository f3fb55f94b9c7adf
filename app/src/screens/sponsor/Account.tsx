/**
 * One participant's account as the sponsor (or advisor) sees it, read only: participation status and election in
 * effect, the balance by source and fund (the same figures the participant's phone shows), money in per pay date a
 * page at a time, every election with its payroll stage, and how many beneficiaries are named (never who). The
 * server writes each view to the audit trail.
 */
import { useState } from "preact/hooks";
import { api, call, type Schemas } from "../../api/client";
import { hasMessage, useI18n, type MessageKey } from "../../i18n";
import { navigate } from "../../router";
import { formatCents } from "../../money";
import { Money } from "../../ui/Money";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { Stage } from "../participant/Stage";
import { localDecimal, sponsorPlanId } from "./oversight";
import { ElectionText, statusKey } from "./People";

type Contribution = Schemas["ContributionOut"];
const PAGE = 10;

/** A money source by its name for staff: the participant's words where they have them, else the ledger's source. */
const sourceName = (t: (key: MessageKey) => string, source = "") =>
  hasMessage(`ovSource_${source}`) ? t(`ovSource_${source}` as MessageKey)
    : hasMessage(`pSource_${source}`) ? t(`pSource_${source}` as MessageKey) : source;

export function Account({ employeeId, planId, back = "/people" }: { employeeId: string; planId?: string; back?: string }) {
  const { t, locale } = useI18n();
  const [contributions, setContributions] = useState<Contribution[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const loaded = useLoad(async () => {
    const plan = planId ?? await sponsorPlanId();
    if (!plan) return null;
    const account = await call(api.GET("/v1/plans/{plan_id}/participants/{employee_id}",
      { params: { path: { plan_id: plan, employee_id: employeeId }, query: { limit: PAGE } } }));
    setContributions(account.contributions ?? []);
    setCursor(account.contributions_next_cursor ?? null);
    return { plan, account };
  }, [employeeId, planId]);

  async function loadMore() {
    if (!cursor || !loaded.data) return;
    setMore({ busy: true, error: null });
    try {
      const next = await call(api.GET("/v1/plans/{plan_id}/participants/{employee_id}", { params: {
        path: { plan_id: loaded.data.plan, employee_id: employeeId }, query: { limit: PAGE, cursor } } }));
      setContributions((previous) => [...previous, ...(next.contributions ?? [])]);
      setCursor(next.contributions_next_cursor ?? null);
      setMore({ busy: false, error: null });
    } catch (caught) {
      setMore({ busy: false, error: caught });
    }
  }

  const backLink = (
    <a href={`/app${back}`} onClick={(e) => { e.preventDefault(); navigate(back); }}>← {t("ovBackToPeople")}</a>
  );
  if (loaded.error) return <main class="screen wide">{backLink}<ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen wide">{loaded.data === null ? <Empty>{t("noPlan")}</Empty> : <Loading />}</main>;
  const { account } = loaded.data;
  const balance = account.balance ?? {};
  const day = (iso?: string) => (iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "medium" }) : "");

  return (
    <main class="screen wide oversight">
      {backLink}
      <div class="title-row">
        <h1>{account.first_name} {account.last_name}</h1>
        <span class={`pill st-${account.participation_status}`} data-testid="account-status">
          {t(statusKey(account.participation_status))}</span>
      </div>
      <p class="muted">{t("ovReadOnly", { id: account.external_id ?? "" })}</p>
      <div class="columns">
        <section class="card" aria-labelledby="acct-balance">
          <h2 id="acct-balance">{t("ovBalance")}</h2>
          <p class="big" data-testid="account-balance"><Money cents={balance.total_cents ?? 0} /></p>
          <dl class="pairs">
            <div><dt>{t("vested")}</dt><dd><Money cents={balance.vested_cents ?? 0} /></dd></div>
            <div><dt>{t("gain")}</dt><dd><Money cents={balance.gain_cents ?? 0} signed /></dd></div>
            <div><dt>{t("ovElection")}</dt><dd><ElectionText election={account.election_in_effect} /></dd></div>
            <div><dt>{t("ovBeneficiaries")}</dt><dd data-testid="beneficiaries-count">{account.beneficiaries_count ?? 0}</dd></div>
          </dl>
          {balance.as_of && <p class="muted">{t("pAsOf", { date: day(balance.as_of) })}</p>}
        </section>
        <section class="card" aria-labelledby="acct-sources">
          <h2 id="acct-sources">{t("bySource")}</h2>
          {(balance.by_source ?? []).length === 0 ? <Empty>{t("noMoneyYet")}</Empty> : (
            <ul class="rows">{(balance.by_source ?? []).map((row) => (
              <li key={row.source}><span>{sourceName(t, row.source)}
                <span class="muted"> · {t("pVestedOf", { amount: formatCents(row.vested_cents ?? 0, locale) })}</span></span>
                <Money cents={row.value_cents ?? 0} /></li>))}</ul>
          )}
          {(balance.by_fund ?? []).length > 0 && <>
            <h3>{t("byFund")}</h3>
            <ul class="rows">{(balance.by_fund ?? []).map((row) => (
              <li key={row.fund_id}><span>{row.name} ({row.ticker})</span>
                <Money cents={(row.value_cents ?? 0) + (row.pending_cents ?? 0)} /></li>))}</ul>
          </>}
        </section>
      </div>
      <section class="card" aria-labelledby="acct-contributions">
        <h2 id="acct-contributions">{t("pContributions")}</h2>
        {contributions.length === 0 ? <Empty>{t("pNoContributions")}</Empty> : (
          <ul class="rows" data-testid="account-contributions">{contributions.map((item) => (
            <li key={item.pay_date}><span>{day(item.pay_date)}
              <span class="muted"> · {Object.entries(item.by_source ?? {}).map(([source, cents]) =>
                `${sourceName(t, source)} ${formatCents(cents, locale)}`).join(", ")}</span></span>
              <Money cents={item.total_cents ?? 0} /></li>))}</ul>
        )}
        {more.error != null && <ErrorBox error={more.error} />}
        {cursor && <button type="button" class="secondary" disabled={more.busy} onClick={loadMore}>
          {more.busy ? t("loading") : t("ovLoadMore")}</button>}
      </section>
      <section class="card" aria-labelledby="acct-elections">
        <h2 id="acct-elections">{t("ovElections")}</h2>
        {(account.elections ?? []).length === 0 ? <Empty>{t("ovNoElections")}</Empty> : (
          <ul class="elections" data-testid="account-elections">{(account.elections ?? []).map((election) => (
            <li key={election.id}>
              <h3>{t("ovElectionOf", { date: day(election.effective_date), lines: (election.lines ?? []).map((line) =>
                line.percent != null ? `${sourceName(t, line.money_type)} ${localDecimal(line.percent, locale)} %`
                  : `${sourceName(t, line.money_type)} ${formatCents(line.amount_cents ?? 0, locale)}`).join(", ") || t("ovOptedOutElection") })}</h3>
              <p class="muted">{t(hasMessage(`ovElection_${election.status}`) ? `ovElection_${election.status}` as MessageKey
                : "ovStatus_unknown")}</p>
              {election.status !== "pending_approval" && <Stage election={election} />}
            </li>))}</ul>
        )}
      </section>
    </main>
  );
}
