/** Where new money goes: the plan's default fund, or a mix of the menu's funds in whole percents adding to 100. */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, call } from "../../api/client";
import { useI18n } from "../../i18n";
import { FieldError } from "../../ui/Field";
import { formProblems } from "../../ui/problems";
import { ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { Stepper } from "./Stepper";
import { useAction } from "../../ui/useAction";

export function Investments() {
  const { t } = useI18n();
  const loaded = useLoad(() => Promise.all([call(api.GET("/mobile/v1/me")), call(api.GET("/mobile/v1/investments"))])
    .then(([me, investments]) => ({ me, investments })));
  const [useDefault, setUseDefault] = useState(true);
  const [mix, setMix] = useState<Record<string, number>>({});
  const { busy, error, run } = useAction<ApiError>();
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (!loaded.data) return;
    const { investments } = loaded.data;
    setUseDefault(investments.uses_default_fund ?? true);
    setMix(Object.fromEntries((investments.allocations ?? []).map((a) => [a.fund_id ?? "", Number.parseInt(a.percent ?? "0", 10)])));
  }, [loaded.data]);

  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen"><Loading /></main>;
  const funds = loaded.data.me.funds ?? [];
  const fallback = funds.find((f) => f.is_default);
  const total = Object.values(mix).reduce((sum, percent) => sum + percent, 0);
  const problems = formProblems(error, ["allocations", "use_default"]);

  async function save() {
    setSaved(false);
    await run(async () => {
      const allocations = Object.entries(mix).filter(([, p]) => p > 0).map(([fund_id, p]) => ({ fund_id, percent: String(p) }));
      await call(api.PUT("/mobile/v1/investments", { body: useDefault ? { use_default: true } : { allocations } }));
      setSaved(true);
    });
  }

  return (
    <main class="screen">
      <h1>{t("pInvestTitle")}</h1>
      <fieldset class="card">
        <legend>{t("pInvestHow")}</legend>
        <label class="check"><input type="radio" name="how" checked={useDefault} onChange={() => { setUseDefault(true); setSaved(false); }} />
          {t("pUseDefault", { fund: fallback ? `${fallback.name} (${fallback.ticker})` : "" })}</label>
        <label class="check"><input type="radio" name="how" checked={!useDefault} onChange={() => { setUseDefault(false); setSaved(false); }} />
          {t("pUseMix")}</label>
      </fieldset>
      {!useDefault && (
        <section class="card" aria-labelledby="mix-title">
          <h2 id="mix-title">{t("pMixTitle")}</h2>
          {funds.map((fund) => (
            <Stepper key={fund.id} id={`fund-${fund.id}`} label={`${fund.name} (${fund.ticker})`} value={mix[fund.id ?? ""] ?? 0}
              min={0} max={100} onChange={(percent) => { setSaved(false); setMix({ ...mix, [fund.id ?? ""]: percent }); }} />
          ))}
          <p class={total === 100 ? "muted" : "field-error"} data-testid="mix-total" aria-live="polite">
            {t("pMixTotal", { total })}</p>
          <FieldError messages={problems.byField.allocations} />
        </section>
      )}
      {error && !problems.byField.allocations && <ErrorBox error={error} extra={problems.general} />}
      {saved && <p class="notice" role="status" data-testid="saved">{t("pSaved")}</p>}
      <button type="button" onClick={save} disabled={busy || (!useDefault && total !== 100)}>{busy ? t("saving") : t("pSave")}</button>
    </main>
  );
}
