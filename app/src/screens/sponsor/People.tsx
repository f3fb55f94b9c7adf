/**
 * The plan's people as its sponsor (or advisor) sees them: each person's participation status, election in effect,
 * balance and vested balance (the phone's own figures), this plan year's deferrals and match, and the last
 * contribution; filtered by status, sorted, a page at a time on the API's cursor, and the same list as a CSV file.
 * A table at desktop width, cards on a phone; a person opens their account (read only).
 */
import { useState } from "preact/hooks";
import { api, call, type Schemas } from "../../api/client";
import type { paths } from "../../api/schema";
import { hasMessage, useI18n, type MessageKey } from "../../i18n";
import { navigate } from "../../router";
import { Money } from "../../ui/Money";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { downloadCsv, localDecimal, sponsorPlanId, useWide } from "./oversight";

type Row = Schemas["ParticipantRowOut"];
type Query = NonNullable<paths["/v1/plans/{plan_id}/participants"]["get"]["parameters"]["query"]>;
type Sort = NonNullable<Query["sort"]>;
type Status = NonNullable<Query["status"]>;
const PAGE = 25;
export const PARTICIPATION: Status[] = ["enrolled", "eligible_not_enrolled", "opted_out", "not_yet_eligible", "terminated"];
const SORTS: [Sort, MessageKey][] = [["name", "ovSortName"], ["-balance", "ovSortBalanceDown"],
  ["balance", "ovSortBalanceUp"], ["-deferral_rate", "ovSortRate"], ["-last_contribution", "ovSortLast"]];

export const statusKey = (status = ""): MessageKey =>
  hasMessage(`ovStatus_${status}`) ? (`ovStatus_${status}` as MessageKey) : "ovStatus_unknown";

/** The election in effect in a few words: "6% (pre-tax 4%, Roth 2%)", "opted out", or "no election". */
export function ElectionText({ election }: { election?: Row["election_in_effect"] }) {
  const { t, locale } = useI18n();
  if (!election) return <>{t("ovNoElection")}</>;
  if (election.kind === "opt_out") return <>{t("ovOptedOutElection")}</>;
  const total = election.deferral_percent;
  if (total == null) return <>{t("ovFlatAmount")}</>;
  // A Roth part of zero ("0", "0.00") is not worth a split.
  const roth = election.roth_percent && !/^0*\.?0*$/.test(String(election.roth_percent)) ? election.roth_percent : null;
  return <>{roth ? t("ovRateSplit", { total: localDecimal(total, locale), pretax:
    localDecimal(election.pretax_percent ?? "0", locale), roth: localDecimal(roth, locale) })
    : t("ovRate", { total: localDecimal(total, locale) })}</>;
}

export function People({ planId, base = "/people" }: { planId?: string; base?: string }) {
  const { t, locale } = useI18n();
  const wide = useWide();
  const [status, setStatus] = useState<Status | "">("");
  const [sort, setSort] = useState<Sort>("name");
  const [rows, setRows] = useState<Row[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const [csvError, setCsvError] = useState<unknown>(null);

  const query = () => ({ sort, limit: PAGE, ...(status ? { status } : {}) });
  const first = useLoad(async () => {
    const plan = planId ?? await sponsorPlanId();
    if (!plan) return null;
    const page = await call(api.GET("/v1/plans/{plan_id}/participants",
      { params: { path: { plan_id: plan }, query: query() } }));
    setRows(page.data ?? []);
    setCursor(page.next_cursor ?? null);
    return plan;
  }, [status, sort, planId]);

  async function loadMore() {
    if (!cursor || !first.data) return;
    setMore({ busy: true, error: null });
    try {
      const page = await call(api.GET("/v1/plans/{plan_id}/participants",
        { params: { path: { plan_id: first.data }, query: { ...query(), cursor } } }));
      setRows((previous) => [...previous, ...(page.data ?? [])]);
      setCursor(page.next_cursor ?? null);
      setMore({ busy: false, error: null });
    } catch (caught) {
      setMore({ busy: false, error: caught });
    }
  }

  async function csv() {
    if (!first.data) return;
    setCsvError(null);
    try {
      await downloadCsv(api.GET("/v1/plans/{plan_id}/participants.csv", { params: { path: { plan_id: first.data },
        query: { sort, ...(status ? { status } : {}) } }, parseAs: "blob" }), "participants.csv");
    } catch (caught) {
      setCsvError(caught);
    }
  }

  const day = (iso?: string) => (iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "medium" }) : "");
  const open = (row: Row) => (e: Event) => { e.preventDefault(); navigate(`${base}/${row.employee_id}`); };
  const name = (row: Row) => `${row.first_name} ${row.last_name}`;
  const last = (row: Row) => row.last_contribution
    ? <><Money cents={row.last_contribution.total_cents ?? 0} /> <span class="muted">{day(row.last_contribution.pay_date)}</span></>
    : <span class="muted">{t("ovNone")}</span>;

  return (
    <main class="screen wide oversight">
      <div class="title-row">
        <h1>{t("ovPeopleTitle")}</h1>
        {first.data && <button type="button" class="secondary" onClick={csv}>{t("ovCsv")}</button>}
      </div>
      {csvError != null && <ErrorBox error={csvError} />}
      <div class="filters">
        <label>{t("ovStatusFilter")}
          <select value={status} onChange={(e) => { setRows([]); setStatus(e.currentTarget.value as Status | ""); }}>
            <option value="">{t("ovAll")}</option>
            {PARTICIPATION.map((s) => <option key={s} value={s}>{t(statusKey(s))}</option>)}
          </select>
        </label>
        <label>{t("ovSort")}
          <select value={sort} onChange={(e) => { setRows([]); setSort(e.currentTarget.value as Sort); }}>
            {SORTS.map(([value, key]) => <option key={value} value={value}>{t(key)}</option>)}
          </select>
        </label>
      </div>
      {first.error ? <ErrorBox error={first.error} onRetry={first.reload} />
        : first.loading && rows.length === 0 ? <Loading />
        : first.data === null ? <Empty>{t("noPlan")}</Empty>
        : rows.length === 0 ? <Empty>{t("ovNoPeople")}</Empty>
        : wide ? (
          <table class="grid" data-testid="people">
            <caption class="visually-hidden">{t("ovPeopleTitle")}</caption>
            <thead><tr>
              <th scope="col">{t("ovName")}</th><th scope="col">{t("ovStatus")}</th><th scope="col">{t("ovElection")}</th>
              <th scope="col" class="num">{t("ovBalance")}</th><th scope="col" class="num">{t("vested")}</th>
              <th scope="col" class="num">{t("ovYtdDeferrals")}</th><th scope="col" class="num">{t("ovYtdMatch")}</th>
              <th scope="col">{t("ovLastContribution")}</th>
            </tr></thead>
            <tbody>{rows.map((row) => (
              <tr key={row.employee_id}>
                <th scope="row"><a href={`/app${base}/${row.employee_id}`} onClick={open(row)}>{name(row)}</a></th>
                <td><span class={`pill st-${row.participation_status}`}>{t(statusKey(row.participation_status))}</span></td>
                <td><ElectionText election={row.election_in_effect} /></td>
                <td class="num"><Money cents={row.balance_cents ?? 0} /></td>
                <td class="num"><Money cents={row.vested_balance_cents ?? 0} /></td>
                <td class="num"><Money cents={row.ytd_deferrals_cents ?? 0} /></td>
                <td class="num"><Money cents={row.ytd_match_cents ?? 0} /></td>
                <td>{last(row)}</td>
              </tr>))}
            </tbody>
          </table>
        ) : (
          <ul class="queue" data-testid="people">{rows.map((row) => (
            <li key={row.employee_id} class="card person">
              <div class="title-row">
                <a href={`/app${base}/${row.employee_id}`} onClick={open(row)}><strong>{name(row)}</strong></a>
                <span class={`pill st-${row.participation_status}`}>{t(statusKey(row.participation_status))}</span>
              </div>
              <p class="big-ish"><Money cents={row.balance_cents ?? 0} />
                <span class="muted"> · {t("vested")} <Money cents={row.vested_balance_cents ?? 0} /></span></p>
              <dl class="pairs">
                <div><dt>{t("ovElection")}</dt><dd><ElectionText election={row.election_in_effect} /></dd></div>
                <div><dt>{t("ovLastContribution")}</dt><dd>{last(row)}</dd></div>
                <div><dt>{t("ovYtdDeferrals")}</dt><dd><Money cents={row.ytd_deferrals_cents ?? 0} /></dd></div>
                <div><dt>{t("ovYtdMatch")}</dt><dd><Money cents={row.ytd_match_cents ?? 0} /></dd></div>
              </dl>
            </li>))}
          </ul>
        )}
      {more.error != null && <ErrorBox error={more.error} />}
      {cursor && rows.length > 0 && (
        <button type="button" class="secondary wide" disabled={more.busy} onClick={loadMore}>
          {more.busy ? t("loading") : t("ovLoadMore")}</button>
      )}
    </main>
  );
}
