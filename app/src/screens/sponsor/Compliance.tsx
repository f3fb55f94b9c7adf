/**
 * The sponsor's compliance card: the plan's status, the projected ADP and ACP (IRC 401(k)(3), 401(m)(2)) for HCEs
 * and everyone else against the limit, what would fix a failure (refunds or a QNEC, from the correction plan), the
 * highest deferral rate HCEs can still elect, and the history of the projected ADP as a chart. Percentages are
 * the API's decimal strings, shown as they come; only the chart's pixel positions are computed from them.
 */
import { api, call, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { session } from "../../session";
import { ErrorBox, Empty, Loading } from "../../ui/states";
import { Money } from "../../ui/Money";
import { useLoad } from "../../ui/useLoad";
import { dollarsToCents } from "./money";

type Figures = { hce_average?: string; nhce_average?: string; limit?: string; passed?: boolean; exempt?: boolean;
  total_excess?: string; qnec?: { total?: string } | null };
interface Loaded {
  state: Schemas["ComplianceStateOut"];
  correction: Schemas["CorrectionOut"];
  history: Schemas["SnapshotOut"][];
}

async function loadCompliance(): Promise<Loaded | null> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return null;
  const employer = await call(api.GET("/v1/employers/{employer_id}", { params: { path: { employer_id: employerId } } }));
  const planId = employer.plans?.[0]?.id;
  if (!planId) return null;
  const params = { params: { path: { plan_id: planId } } };
  const [state, correction, history] = await Promise.all([
    call(api.GET("/v1/plans/{plan_id}/compliance", params)),
    call(api.GET("/v1/plans/{plan_id}/compliance/correction", params)),
    call(api.GET("/v1/plans/{plan_id}/compliance/history", { params: { ...params.params, query: { limit: 100 } } })),
  ]);
  return { state, correction, history: history.data ?? [] };
}

const STATUS: Record<string, MessageKey> = { on_track: "statusOnTrack", narrow_margin: "statusNarrow",
  at_risk: "statusAtRisk" };

function TestRow({ name, figures }: { name: "ADP" | "ACP"; figures: Figures }) {
  const { t } = useI18n();
  return (
    <li data-testid={`test-${name.toLowerCase()}`}>
      <span><strong>{name}</strong> {figures.exempt ? <span class="muted">({t("exemptSafeHarbor")})</span> : null}</span>
      <span>{t("hceVsLimit", { hce: figures.hce_average ?? "–", nhce: figures.nhce_average ?? "–",
        limit: figures.limit ?? "–" })}</span>
    </li>
  );
}

/** The projected ADP of HCEs against its limit at each recomputation, oldest first. */
function HistoryChart({ points }: { points: Schemas["SnapshotOut"][] }) {
  const { t, locale } = useI18n();
  const series = points.map((p) => p.figures as { adp?: Figures }).map((f) => ({
    hce: Number(f.adp?.hce_average ?? 0), limit: Number(f.adp?.limit ?? 0) }));
  const top = Math.max(1, ...series.flatMap((s) => [s.hce, s.limit])) * 1.15;
  const width = 320, height = 140, step = series.length > 1 ? width / (series.length - 1) : width;
  const y = (v: number) => (height - (v / top) * height).toFixed(1);
  const line = (key: "hce" | "limit") => series.map((s, i) => `${(i * step).toFixed(1)},${y(s[key])}`).join(" ");
  const first = points[0]?.at, last = points[points.length - 1]?.at;
  const day = (iso?: string) => (iso ? new Date(iso).toLocaleDateString(locale, { dateStyle: "medium" }) : "");
  return (
    <figure class="chart" data-testid="compliance-chart">
      <svg viewBox={`-4 -4 ${width + 8} ${height + 8}`} role="img" aria-label={t("historyChartLabel",
        { count: points.length, from: day(first), to: day(last) })}>
        <polyline points={line("limit")} fill="none" stroke="#8a5300" stroke-width="2" stroke-dasharray="6 4" />
        <polyline points={line("hce")} fill="none" stroke="#0b5d4b" stroke-width="3" />
      </svg>
      <figcaption class="legend">
        <span class="key hce">{t("legendHce")}</span> <span class="key limit">{t("legendLimit")}</span>
      </figcaption>
    </figure>
  );
}

export function Compliance() {
  const { t } = useI18n();
  const loaded = useLoad(loadCompliance);
  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (loaded.loading && !loaded.data) return <main class="screen"><Loading /></main>;
  if (!loaded.data) return <main class="screen"><h1>{t("complianceTitle")}</h1><Empty>{t("noPlan")}</Empty></main>;
  const { state, correction, history } = loaded.data;
  const projection = (state.projection ?? {}) as { adp?: Figures; acp?: Figures };
  const adp = (correction.adp ?? {}) as Figures, acp = (correction.acp ?? {}) as Figures;
  const cap = correction.hce_election_cap as { percent?: string | null } | null | undefined;
  const status = state.status ?? "on_track";
  const refunds = BigInt(dollarsToCents(adp.total_excess)) + BigInt(dollarsToCents(acp.total_excess));
  const qnec = adp.qnec?.total ?? acp.qnec?.total;
  return (
    <main class="screen wide">
      <h1>{t("complianceTitle")}</h1>
      <section class={`card status-${status}`} data-testid="compliance-card" aria-labelledby="compliance-status">
        <h2 id="compliance-status" data-testid="compliance-status">{t(STATUS[status] ?? "statusOnTrack")}</h2>
        <p class="muted">{t("projectedYearEnd", { year: state.year ?? "" })}</p>
        <ul class="rows">
          <TestRow name="ADP" figures={{ ...adp, ...projection.adp }} />
          <TestRow name="ACP" figures={{ ...acp, ...projection.acp }} />
        </ul>
        <h3>{t("theFix")}</h3>
        <p data-testid="compliance-fix">
          {correction.passed ? t("nothingToFix")
            : qnec ? <>{t("fixQnec")} <Money cents={dollarsToCents(qnec)} /></>
            : <>{t("fixRefunds")} <Money cents={refunds} /></>}
        </p>
        <h3>{t("hceCapTitle")}</h3>
        <p data-testid="hce-cap">{!cap ? t("hceCapNone") : cap.percent == null ? t("hceCapZero")
          : t("hceCap", { percent: cap.percent })}</p>
      </section>
      <section class="card">
        <h2>{t("historyTitle")}</h2>
        {history.length === 0 ? <Empty>{t("noHistory")}</Empty> : <HistoryChart points={history} />}
      </section>
    </main>
  );
}
