/** The participant's home: the balance (total, vested, gain; by source and by fund) and the rate in effect. */
import { api, call, type Schemas } from "../api/client";
import { useI18n, type MessageKey } from "../i18n";
import { currentElection, totalPercent } from "../rates";
import { navigate } from "../router";
import { Money } from "../ui/Money";
import { ErrorBox, Loading } from "../ui/states";
import { useLoad } from "../ui/useLoad";

type Me = Schemas["MeOut"];
type Balance = Schemas["BalanceOut"];

const SOURCES: Record<string, { en: string; es: string }> = {
  pretax: { en: "Pre-tax", es: "Antes de impuestos" },
  roth: { en: "Roth", es: "Roth" },
  pretax_catchup: { en: "Pre-tax catch-up", es: "Recuperación antes de impuestos" },
  roth_catchup: { en: "Roth catch-up", es: "Recuperación Roth" },
  safe_harbor_match: { en: "Employer match (safe harbor)", es: "Aporte del empleador (safe harbor)" },
  match: { en: "Employer match", es: "Aporte del empleador" },
};

export function Home() {
  const { t, language } = useI18n();
  const loaded = useLoad(() =>
    Promise.all([call(api.GET("/mobile/v1/me")), call(api.GET("/mobile/v1/balance"))]).then(
      ([me, balance]) => ({ me, balance }) as { me: Me; balance: Balance },
    ),
  );
  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen"><Loading /></main>;
  const { me, balance } = loaded.data;
  const election = currentElection(me);
  const percent = totalPercent(election);
  const pendingPercent = totalPercent(me.election_pending as Schemas["ElectionOut"] | null);
  const sourceName = (source: string) => SOURCES[source]?.[language] ?? source;

  return (
    <main class="screen">
      <h1>{t("hello", { name: me.first_name ?? "" })}</h1>
      <section class="card" aria-labelledby="balance-title">
        <h2 id="balance-title">{t("balance")}</h2>
        <p class="big" data-testid="balance-total"><Money cents={balance.total_cents ?? 0} /></p>
        <dl class="pairs">
          <div><dt>{t("vested")}</dt><dd><Money cents={balance.vested_cents ?? 0} /></dd></div>
          <div><dt>{t("gain")}</dt><dd><Money cents={balance.gain_cents ?? 0} signed /></dd></div>
        </dl>
        {!balance.total_cents && <p class="muted">{t("noMoneyYet")}</p>}
      </section>
      <section class="card" aria-labelledby="rate-title">
        <h2 id="rate-title">{t("yourRate")}</h2>
        <p data-testid="current-rate">{percent ? t("rateOfPay", { percent }) : t("notContributing")}</p>
        {pendingPercent && <p class="notice" role="status">{t("pendingApproval", { percent: pendingPercent })}</p>}
        <button type="button" onClick={() => navigate("/rate")}>{percent ? t("changeRate") : t("enroll")}</button>
      </section>
      {(balance.by_source?.length ?? 0) > 0 && (
        <Breakdown title={t("bySource") as string} titleKey="bySource" rows={(balance.by_source ?? []).map((row) => ({
          key: row.source ?? "", label: sourceName(row.source ?? ""), cents: row.value_cents ?? 0 }))} />
      )}
      {(balance.by_fund?.length ?? 0) > 0 && (
        <Breakdown title={t("byFund")} titleKey="byFund" rows={(balance.by_fund ?? []).map((row) => ({
          key: row.fund_id ?? "", label: `${row.name} (${row.ticker})`,
          cents: (row.value_cents ?? 0) + (row.pending_cents ?? 0) }))} />
      )}
    </main>
  );
}

function Breakdown({ title, titleKey, rows }: { title: string; titleKey: MessageKey;
  rows: { key: string; label: string; cents: number }[] }) {
  return (
    <section class="card" aria-labelledby={`${titleKey}-title`}>
      <h2 id={`${titleKey}-title`}>{title}</h2>
      <ul class="rows">
        {rows.map((row) => (
          <li key={row.key}><span>{row.label}</span><Money cents={row.cents} /></li>
        ))}
      </ul>
    </section>
  );
}
