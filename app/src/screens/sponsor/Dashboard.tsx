/**
 * A plan's dashboard for its sponsor (and its advisor): participation of the eligible, the average deferral rates
 * of HCEs and everyone else (the projected ADP, IRC 401(k)(3)), employer match paid this year and projected for it,
 * assets, contributions by month as bars, what waits for the sponsor (approvals, payroll exceptions, messages to
 * payroll given up on), the compliance status with its margin, and the adoption agreement and billing. Rates are the
 * API's decimal strings; money is integer cents; the bars are scaled with BigInt (oversight.ts).
 */
import type { ComponentChildren } from "preact";
import { api, call, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { formatCents } from "../../money";
import { navigate } from "../../router";
import { Money } from "../../ui/Money";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { fractionToPercent, localDecimal, monthBars, sponsorPlanId } from "./oversight";

const WIDTH = 320;
const HEIGHT = 120;

export const COMPLIANCE: Record<string, MessageKey> = { on_track: "statusOnTrack", narrow_margin: "statusNarrow",
  at_risk: "statusAtRisk", not_computed: "ovNotComputed" };
export const BILLING: Record<string, MessageKey> = { off: "billOff", active: "billActive", past_due: "billPastDue",
  cancelled: "billCancelled" };

/** A link to another screen of the app, or plain text where the viewer has no such screen (an advisor). */
function To({ route, children }: { route?: string; children: ComponentChildren }) {
  if (!route) return <>{children}</>;
  return <a href={`/app${route}`} onClick={(e) => { e.preventDefault(); navigate(route); }}>{children}</a>;
}

export function Dashboard({ planId, peopleRoute = "/people", links = true }:
  { planId?: string; peopleRoute?: string; links?: boolean }) {
  const { t, locale } = useI18n();
  const loaded = useLoad(async () => {
    const plan = planId ?? await sponsorPlanId();
    return plan ? call(api.GET("/v1/plans/{plan_id}/dashboard", { params: { path: { plan_id: plan } } })) : null;
  }, [planId]);
  if (loaded.error) return <main class="screen wide"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (loaded.data === undefined) return <main class="screen wide"><Loading /></main>;
  if (loaded.data === null) return <main class="screen wide"><Empty>{t("noPlan")}</Empty></main>;
  const d = loaded.data;
  const pct = (value?: string | null) => (value == null ? t("ovNone") : `${localDecimal(value, locale)} %`);
  const day = (iso?: string) => (iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "medium" }) : "");
  const status = d.compliance_status ?? "not_computed";

  return (
    <main class="screen wide oversight">
      <h1>{d.plan_name}</h1>
      <p class="muted">{t("ovDashboardOf", { employer: d.employer_name ?? "", year: d.year ?? "", date: day(d.as_of) })}</p>
      <section class="headline" aria-label={t("ovHeadline")} data-testid="headline">
        <div class="card figure"><h2>{t("ovParticipation")}</h2>
          <p class="big" data-testid="participation">{d.participation_rate == null ? t("ovNone")
            : `${localDecimal(fractionToPercent(d.participation_rate), locale)} %`}</p>
          <p class="muted">{t("ovEnrolledOf", { enrolled: d.enrolled_count ?? 0, eligible: d.eligible_count ?? 0 })}</p>
          <p><To route={links ? peopleRoute : undefined}>{t("ovSeePeople")}</To></p></div>
        <div class="card figure"><h2>{t("ovAverageRates")}</h2>
          <dl class="pairs">
            <div><dt>{t("ovHce")}</dt><dd>{pct(d.hce_average_deferral)}</dd></div>
            <div><dt>{t("ovNhce")}</dt><dd>{pct(d.nhce_average_deferral)}</dd></div>
          </dl></div>
        <div class="card figure"><h2>{t("ovMatch")}</h2>
          <dl class="pairs">
            <div><dt>{t("ovPaid")}</dt><dd data-testid="match-paid"><Money cents={d.match_paid_cents ?? 0} /></dd></div>
            <div><dt>{t("ovProjected")}</dt><dd><Money cents={d.match_projected_cents ?? 0} /></dd></div>
          </dl></div>
        <div class="card figure"><h2>{t("ovAssets")}</h2>
          <p class="big" data-testid="assets"><Money cents={d.assets_cents ?? 0} /></p></div>
      </section>
      <section class="card" aria-labelledby="by-month">
        <h2 id="by-month">{t("ovByMonth")}</h2>
        <MonthChart months={d.contributions_by_month ?? []} />
      </section>
      <div class="columns">
        <section class="card" aria-labelledby="waiting">
          <h2 id="waiting">{t("ovWaiting")}</h2>
          <ul class="rows" data-testid="waiting">
            <li><To route={links ? "/" : undefined}>{t("navApprovals")}</To><strong>{d.pending_approvals ?? 0}</strong></li>
            <li><To route={links ? "/exceptions" : undefined}>{t("navExceptions")}</To><strong>{d.open_exceptions ?? 0}</strong></li>
            <li><To route={links ? "/payroll-messages" : undefined}>{t("ovDeadLetters")}</To>
              <strong data-testid="dead-letters">{d.dead_letters ?? 0}</strong></li>
          </ul>
          {(d.dead_letters ?? 0) > 0 && !links && <p class="muted">{t("ovDeadLettersHint")}</p>}
        </section>
        <section class={`card status-${status}`} aria-labelledby="plan-health">
          <h2 id="plan-health">{t("complianceTitle")}</h2>
          <p><strong data-testid="dashboard-compliance"><To route={links ? "/compliance" : undefined}>
            {t(COMPLIANCE[status] ?? "ovNotComputed")}</To></strong></p>
          {d.compliance_margin != null && <p>{t("ovMargin", { points: localDecimal(d.compliance_margin, locale) })}</p>}
          <h3>{t("ovDocumentsBilling")}</h3>
          <ul class="rows">
            <li><To route={links ? "/documents" : undefined}>{t("ovAgreement")}</To>
              <strong>{t(d.agreement_signed ? "ovSigned" : "ovUnsigned")}</strong></li>
            <li><To route={links ? "/billing" : undefined}>{t("billTitle")}</To>
              <strong>{t(BILLING[d.billing_status ?? "off"] ?? "billOff")}</strong></li>
          </ul>
        </section>
      </div>
    </main>
  );
}

function MonthChart({ months }: { months: Schemas["MonthOut"][] }) {
  const { t, locale } = useI18n();
  const shown = months.map((m) => ({ month: m.month ?? "", total_cents: m.total_cents ?? 0 }));
  if (shown.length === 0) return <Empty>{t("ovNoMonths")}</Empty>;
  const bars = monthBars(shown, WIDTH, HEIGHT);
  const monthName = (ym: string) => new Date(`${ym}-15T12:00:00`).toLocaleDateString(locale, { month: "short" });
  const summary = t("ovByMonthSummary", { list: shown.map((m) => `${monthName(m.month)} ${formatCents(m.total_cents, locale)}`)
    .join(", ") });
  return (
    <figure class="chart bars" data-testid="month-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + 16}`} role="img" aria-label={summary}>
        {bars.map((bar) => <rect key={bar.label} x={bar.x} y={bar.y} width={bar.width} height={bar.height} />)}
        {bars.map((bar) => <text key={`${bar.label}-l`} x={bar.x + bar.width / 2} y={HEIGHT + 13} text-anchor="middle">
          {monthName(bar.label)}</text>)}
      </svg>
      <figcaption class="muted">{t("ovByMonthTotal", { total: formatCents(shown.reduce((sum, m) => sum + BigInt(m.total_cents), 0n), locale) })}</figcaption>
    </figure>
  );
}
