/** The participant's plan summary (the current summary plan description) as a PDF in the language the app is
 * shown in, a row on the Plan screen. */
import { api, call } from "../../api/client";
import { useI18n } from "../../i18n";
import { ErrorBox } from "../../ui/states";
import { saveBlob } from "../../ui/download";
import { useAction } from "../../ui/useAction";

export function PlanSummary() {
  const { t, language } = useI18n();
  const { busy, error, run } = useAction();
  async function download() {
    await run(async () => {
      const blob = await call(api.GET("/mobile/v1/plan-summary.pdf", { params: { query: { language } },
        parseAs: "blob" })) as Blob;
      saveBlob(blob, `plan-summary-${language}.pdf`);
    });
  }
  return (
    <section class="card" aria-labelledby="summary-title" data-testid="plan-summary">
      <h2 id="summary-title">{t("pSummaryTitle")}</h2>
      <p class="muted">{t("pSummaryHint")}</p>
      {error != null && <ErrorBox error={error} />}
      <button type="button" class="secondary" disabled={busy} onClick={download}>{t("pSummaryDownload")}</button>
    </section>
  );
}
