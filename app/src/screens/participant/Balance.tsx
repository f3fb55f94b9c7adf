/**
 * The balance in full: total, vested and gain, a chart of its history against what went in, by source and by
 * fund, this year's deferrals against the 402(g) limit (IRC §402(g)(1); catch-up §414(v)), and the contributions,
 * a page at a time.
 */
import { useState } from "preact/hooks";
import { api, call, type Schemas } from "../../api/client";
import { hasMessage, useI18n, type MessageKey } from "../../i18n";
import { formatCents } from "../../money";
import { Money } from "../../ui/Money";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { HEIGHT, paths, WIDTH } from "./chart";

type Contribution = Schemas["ContributionOut"];
const PAGE = 10;

export function Balance() {
  const { t, locale } = useI18n();
  const loaded = useLoad(() => Promise.all([call(api.GET("/mobile/v1/balance")), call(api.GET("/mobile/v1/balance-history")),
    call(api.GET("/mobile/v1/limits"))]).then(([balance, history, limits]) => ({ balance, history, limits })));
  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen"><Loading /></main>;
  const { balance, history, limits } = loaded.data;
  const points = history.map((p) => ({ date: p.date ?? "", value_cents: p.value_cents ?? 0, contributed_cents: p.contributed_cents ?? 0 }));
  const day = (iso: string) => new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "medium" });

  return (
    <main class="screen">
      <h1>{t("balance")}</h1>
      <section class="card" aria-labelledby="total-title">
        <h2 id="total-title" class="visually-hidden">{t("pTotal")}</h2>
        <p class="big" data-testid="balance-big"><Money cents={balance.total_cents ?? 0} /></p>
        <dl class="pairs">
          <div><dt>{t("vested")}</dt><dd><Money cents={balance.vested_cents ?? 0} /></dd></div>
          <div><dt>{t("gain")}</dt><dd><Money cents={balance.gain_cents ?? 0} signed /></dd></div>
        </dl>
        {balance.as_of && <p class="muted">{t("pAsOf", { date: day(balance.as_of) })}</p>}
      </section>
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">{t("pHistory")}</h2>
        {points.length === 0 ? <Empty>{t("noMoneyYet")}</Empty> : <Chart points={points} day={day} />}
      </section>
      {(balance.by_source?.length ?? 0) > 0 && (
        <section class="card" aria-labelledby="source-title">
          <h2 id="source-title">{t("bySource")}</h2>
          <ul class="rows">{(balance.by_source ?? []).map((row) => (
            <li key={row.source}><span>{hasMessage(`pSource_${row.source}`) ? t(`pSource_${row.source}` as MessageKey) : row.source}
              <span class="muted"> · {t("pVestedOf", { amount: formatCents(row.vested_cents ?? 0, locale) })}</span></span>
              <Money cents={row.value_cents ?? 0} /></li>))}</ul>
        </section>
      )}
      {(balance.by_fund?.length ?? 0) > 0 && (
        <section class="card" aria-labelledby="fund-title">
          <h2 id="fund-title">{t("byFund")}</h2>
          <ul class="rows">{(balance.by_fund ?? []).map((row) => (
            <li key={row.fund_id}><span>{row.name} ({row.ticker})
              <span class="muted"> · {t("gain")} {formatCents(row.gain_cents ?? 0, locale, { signed: true })}</span></span>
              <Money cents={(row.value_cents ?? 0) + (row.pending_cents ?? 0)} /></li>))}</ul>
        </section>
      )}
      <Limits limits={limits} />
      <Contributions day={day} />
    </main>
  );
}

function Chart({ points, day }: { points: { date: string; value_cents: number; contributed_cents: number }[];
  day: (iso: string) => string }) {
  const { t, locale } = useI18n();
  const drawn = paths(points);
  const last = points[points.length - 1];
  const summary = t("pChartSummary", { from: day(points[0].date), to: day(last.date),
    value: formatCents(last.value_cents, locale), contributed: formatCents(last.contributed_cents, locale) });
  return (
    <figure class="chart" data-testid="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <path d={drawn.contributed} class="contributed" fill="none" />
        <path d={drawn.value} class="value" fill="none" />
      </svg>
      <figcaption class="legend">
        <span class="key value">{t("pChartValue")}</span> <span class="key contributed">{t("pChartContributed")}</span>
        <span class="muted"> · {day(points[0].date)} – {day(last.date)}</span>
      </figcaption>
    </figure>
  );
}

function Limits({ limits }: { limits: Schemas["LimitsOut"] }) {
  const { t, locale } = useI18n();
  const used = limits.deferred_total_cents ?? 0;
  const limit = limits.total_limit_cents ?? limits.limit_402g_cents ?? 0;
  const money = (cents: number | undefined) => formatCents(cents ?? 0, locale);
  return (
    <section class="card" aria-labelledby="limits-title" data-testid="limits">
      <h2 id="limits-title">{t("pLimitsTitle", { year: limits.calendar_year ?? "" })}</h2>
      <label for="limit-meter" class="visually-hidden">{t("pLimitsTitle", { year: limits.calendar_year ?? "" })}</label>
      <meter id="limit-meter" min={0} max={Math.max(limit, 1)} value={Math.min(used, limit)} />
      <p>{t("pLimitsUsed", { used: money(used), limit: money(limit) })}</p>
      <dl class="pairs">
        <div><dt>{t("pLimits402g")}</dt><dd>{money(limits.limit_402g_cents)}</dd></div>
        <div><dt>{t("pLimitsCatchUp")}</dt><dd>{money(limits.catch_up_limit_cents)}</dd></div>
        <div><dt>{t("pLimitsHere")}</dt><dd>{money(limits.deferred_here_cents)}</dd></div>
        <div><dt>{t("pLimitsElsewhere")}</dt><dd>{money(limits.deferred_elsewhere_cents)}</dd></div>
      </dl>
      <p><strong>{t("pLimitsRemaining", { amount: money(limits.remaining_cents) })}</strong></p>
    </section>
  );
}

function Contributions({ day }: { day: (iso: string) => string }) {
  const { t } = useI18n();
  const [items, setItems] = useState<Contribution[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [more, setMore] = useState(false);
  const first = useLoad(() => call(api.GET("/mobile/v1/contributions", { params: { query: { limit: PAGE } } }))
    .then((page) => { setItems(page.data ?? []); setCursor(page.next_cursor ?? null); return page; }));
  const [moreError, setMoreError] = useState<unknown>(null);

  async function loadMore() {
    if (!cursor) return;
    setMore(true);
    setMoreError(null);
    try {
      const page = await call(api.GET("/mobile/v1/contributions", { params: { query: { limit: PAGE, cursor } } }));
      setItems((previous) => [...previous, ...(page.data ?? [])]);
      setCursor(page.next_cursor ?? null);
    } catch (caught) {
      setMoreError(caught);
    } finally {
      setMore(false);
    }
  }

  return (
    <section class="card" aria-labelledby="contributions-title" id="contributions">
      <h2 id="contributions-title">{t("pContributions")}</h2>
      {first.error ? <ErrorBox error={first.error} onRetry={first.reload} /> : !first.data ? <Loading /> :
        items.length === 0 ? <Empty>{t("pNoContributions")}</Empty> : (
          <ul class="rows" data-testid="contributions">
            {items.map((item) => (
              <li key={item.pay_date}><span>{day(item.pay_date ?? "")}</span><Money cents={item.total_cents ?? 0} /></li>
            ))}
          </ul>
        )}
      {moreError != null && <ErrorBox error={moreError} />}
      {cursor && <button type="button" class="secondary" disabled={more} onClick={loadMore}>{more ? t("loading") : t("pMore10")}</button>}
    </section>
  );
}
