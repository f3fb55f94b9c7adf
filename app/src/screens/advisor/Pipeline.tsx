/**
 * The advisor's plan setup pipeline: how many plans are created (agreement not signed), documents signed (in force,
 * no pay run yet) and live (taking contributions), and the newest plans in each stage.
 */
import { api, call } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { navigate } from "../../router";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";

const STAGE: Record<string, MessageKey> = { created: "ovStage_created", documents_signed: "ovStage_documents_signed",
  live: "ovStage_live" };

export function Pipeline() {
  const { t, locale } = useI18n();
  const loaded = useLoad(() => call(api.GET("/v1/book/pipeline", { params: { query: { per_stage: 20 } } })));
  if (loaded.error) return <main class="screen wide"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen wide"><Loading /></main>;
  const stages = loaded.data.stages ?? [];
  const when = (iso?: string) => (iso ? new Date(iso).toLocaleDateString(locale, { dateStyle: "medium" }) : "");
  return (
    <main class="screen wide oversight">
      <h1>{t("ovPipelineTitle")}</h1>
      {(loaded.data.total ?? 0) === 0 ? <Empty>{t("ovNoPlans")}</Empty> : <>
        <ol class="funnel" data-testid="pipeline-counts">
          {stages.map((stage) => (
            <li key={stage.stage} class="card">
              <span class="big" data-testid={`count-${stage.stage}`}>{stage.count ?? 0}</span>
              <span>{t(STAGE[stage.stage ?? ""] ?? "ovStatus_unknown")}</span>
            </li>))}
        </ol>
        <div class="columns three">
          {stages.map((stage) => (
            <section key={stage.stage} class="card" aria-labelledby={`stage-${stage.stage}`}>
              <h2 id={`stage-${stage.stage}`}>{t(STAGE[stage.stage ?? ""] ?? "ovStatus_unknown")}</h2>
              {(stage.plans ?? []).length === 0 ? <Empty>{t("ovNoPlansHere")}</Empty> : (
                <ul class="rows" data-testid={`stage-${stage.stage}`}>{(stage.plans ?? []).map((plan) => (
                  <li key={plan.plan_id}>
                    <a href={`/app/plans/${plan.plan_id}`}
                      onClick={(e) => { e.preventDefault(); navigate(`/plans/${plan.plan_id}`); }}>{plan.employer_name}</a>
                    <span class="muted">{when(plan.created_at)}</span>
                  </li>))}</ul>
              )}
              {(stage.count ?? 0) > (stage.plans ?? []).length &&
                <p class="muted">{t("ovAndMore", { count: (stage.count ?? 0) - (stage.plans ?? []).length })}</p>}
            </section>))}
        </div>
      </>}
    </main>
  );
}
