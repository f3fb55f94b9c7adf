/**
 * Enroll or change the rate: a percent-of-pay control with the preview endpoint's live "your employer adds" and
 * "match left on the table" (computed by the server, nothing stored), the pre-tax/Roth split (kept when only the
 * rate moves), catch-up when eligible, then the new election.
 */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, call, idempotencyKey, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { currentElection } from "../rates";
import { navigate } from "../router";
import { electionLines, splitOf, withRate, type Split } from "./participant/lines";
import { Stepper } from "./participant/Stepper";
import { formatCents } from "../money";
import { FieldError } from "../ui/Field";
import { formProblems } from "../ui/problems";
import { Money } from "../ui/Money";
import { ErrorBox, Loading } from "../ui/states";
import { useLoad } from "../ui/useLoad";

const MAX_PERCENT = 75;
const PREVIEW_DELAY_MS = 250;

export function Rate() {
  const { t, locale } = useI18n();
  const me = useLoad(() => call(api.GET("/mobile/v1/me")));
  const [split, setSplit] = useState<Split | null>(null);
  // The split the participant last chose (or had): each new rate is taken from it, so stepping 6 → 7 → 8 → 9 keeps
  // the share of 6 rather than compounding each step's rounding.
  const [chosen, setChosen] = useState<Split | null>(null);
  const percent = split?.rate ?? null;
  const [preview, setPreview] = useState<Schemas["MatchPreviewOut"] | null>(null);
  const [previewError, setPreviewError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<Schemas["ElectionOut"] | null>(null);

  useEffect(() => {
    if (me.data && percent === null) {
      // The control moves in whole percents; a fractional rate in effect starts it at the percent below.
      const held = splitOf(currentElection(me.data));
      setSplit(held);
      setChosen(held);
    }
  }, [me.data]);

  useEffect(() => {
    if (percent === null) return;
    let live = true;
    setPreview(null);
    const timer = setTimeout(() => {
      call(api.POST("/mobile/v1/elections/preview", { body: { lines: electionLines(split!) } }))
        .then((answer) => { if (live) { setPreview(answer); setPreviewError(null); } },
              (error) => { if (live) setPreviewError(error as ApiError); });
    }, PREVIEW_DELAY_MS);
    return () => { live = false; clearTimeout(timer); };
  }, [split]);

  if (me.error) return <main class="screen"><ErrorBox error={me.error} onRetry={me.reload} /></main>;
  if (!me.data || split === null || percent === null) return <main class="screen"><Loading /></main>;

  async function save() {
    setBusy(true);
    setSaveError(null);
    try {
      setSaved(await call(api.POST("/mobile/v1/elections", {
        body: { lines: electionLines(split!) },
        params: { header: { "Idempotency-Key": idempotencyKey() } },
      })));
    } catch (caught) {
      setSaveError(caught as ApiError);
    } finally {
      setBusy(false);
    }
  }

  const change = (value: number) => {
    setSaved(null);
    setSplit({ ...withRate(chosen ?? split, Math.max(0, Math.min(MAX_PERCENT, value))), catchUp: split.catchUp,
      catchUpRoth: split.catchUpRoth });
  };
  const adjust = (part: Partial<Split>) => { setSaved(null); setSplit({ ...split, ...part }); setChosen({ ...split, ...part }); };
  const problems = formProblems(saveError ?? previewError, ["lines"]);
  const date = (iso: string) => new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "medium" });

  return (
    <main class="screen">
      <h1>{t("rateTitle")}</h1>
      <section class="card">
        <label for="rate" class="rate-label">{t("rateLabel")}</label>
        <div class="rate-control">
          <button type="button" class="round" aria-label={t("decrease")} onClick={() => change(percent - 1)}
            disabled={percent <= 0}>−</button>
          <output for="rate" class="rate-value" data-testid="rate-value">{percent}%</output>
          <button type="button" class="round" aria-label={t("increase")} onClick={() => change(percent + 1)}
            disabled={percent >= MAX_PERCENT}>+</button>
        </div>
        <input id="rate" type="range" min={0} max={MAX_PERCENT} step={1} value={percent}
          aria-describedby={problems.byField.lines ? "rate-error" : undefined}
          onInput={(e) => change(Number.parseInt(e.currentTarget.value, 10))} />
        <FieldError id="rate-error" messages={problems.byField.lines} />
      </section>
      {(me.data.roth_allowed || me.data.catch_up_eligible) && (
        <section class="card" aria-labelledby="split-title">
          <h2 id="split-title">{t("pSplitTitle")}</h2>
          {me.data.roth_allowed && (
            <Stepper id="roth" label={t("pRothPart")} hint={t("pRothHint", { pretax: percent - split.roth })}
              value={split.roth} min={0} max={percent} onChange={(roth) => adjust({ roth })} />
          )}
          {me.data.catch_up_eligible && (
            <>
              <Stepper id="catch-up" label={t("pCatchUp")} hint={t("pCatchUpHint")} value={split.catchUp} min={0}
                max={MAX_PERCENT} onChange={(catchUp) => adjust({ catchUp })} />
              {me.data.roth_allowed && split.catchUp > 0 && (
                <label class="check"><input type="checkbox" checked={split.catchUpRoth}
                  onChange={(e) => adjust({ catchUpRoth: e.currentTarget.checked })} />{t("pCatchUpRoth")}</label>
              )}
            </>
          )}
        </section>
      )}
      <section class="card" aria-live="polite" aria-busy={preview === null && !previewError}>
        {previewError && !problems.byField.lines && <ErrorBox error={previewError} extra={problems.general} />}
        {!preview && !previewError && <p class="muted">{t("calculating")}</p>}
        {preview && (
          <>
            <dl class="pairs">
              <div><dt>{t("employerAdds")}</dt>
                <dd data-testid="employer-adds">
                  {t("perYear", { amount: formatCents(preview.annual_match_cents ?? 0, locale) })}</dd></div>
              <div><dt>{t("leftOnTable")}</dt>
                <dd data-testid="left-on-table"><Money cents={preview.left_on_table_cents ?? 0} /></dd></div>
            </dl>
            <p class="muted">{(preview.left_on_table_cents ?? 0) > 0
              ? t("fullMatchAt", { percent: preview.full_match_deferral_percent ?? "" }) : t("gettingFullMatch")}</p>
          </>
        )}
      </section>
      {saveError && !problems.byField.lines && <ErrorBox error={saveError} extra={problems.general} />}
      {saved ? (
        <>
          <p class="notice" role="status" data-testid="saved">
            {saved.status === "pending_approval" ? t("savedPending", { percent })
              : t("savedEffective", { percent, date: date(saved.effective_date ?? "") })}
          </p>
          <div class="actions">
            <button type="button" class="secondary" onClick={() => navigate(`/election/${saved.id}`)}>{t("pSeeStage")}</button>
            <button type="button" class="secondary" onClick={() => navigate("/investments")}>{t("pInvestTitle")}</button>
            <button type="button" class="secondary" onClick={() => navigate("/beneficiaries")}>{t("pBenTitle")}</button>
          </div>
        </>
      ) : (
        <button type="button" onClick={save} disabled={busy}>{busy ? t("saving") : t("saveRate", { percent })}</button>
      )}
    </main>
  );
}
