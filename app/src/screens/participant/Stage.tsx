/** Where a change of rate stands on its way to payroll: waiting for approval → sent → confirmed by payroll → on
 * your pay statement, or why it stopped (the API's payroll stage: backend/enrollment/approvals.py). */
import type { Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";

const STEPS: [string, MessageKey][] = [["requested", "pStageRequested"], ["sent", "pStageSent"],
  ["confirmed", "pStageConfirmed"], ["observed", "pStageObserved"]];
// "approved" (not yet handed to payroll) is the first step, done: its label says so.
const REACHED: Record<string, number> = { requested: 0, approved: 0, sent: 1, confirmed: 2, observed: 3 };

export function Stage({ election }: { election: Schemas["ElectionOut"] }) {
  const { t } = useI18n();
  const stage = election.payroll?.stage ?? "requested";
  const detail = election.payroll?.detail ?? election.rejection_reason ?? "";
  // An announced automatic increase: not yet on its way to payroll, and the participant may still skip it.
  if (stage === "scheduled") return <p class="notice" data-testid="stage">{t("pStageScheduled")}</p>;
  if (stage === "failed" || stage === "rejected" || stage === "superseded" || stage === "skipped") {
    const key: MessageKey = stage === "failed" ? "pStageFailed" : stage === "rejected" ? "pStageRejected"
      : stage === "skipped" ? "pStageSkipped" : "pStageSuperseded";
    return <p class={stage === "superseded" || stage === "skipped" ? "muted" : "notice warn"} data-testid="stage">
      {t(key, { detail })}</p>;
  }
  const reached = REACHED[stage] ?? 0;
  return (
    <ol class="stages" data-testid="stage">
      {STEPS.map(([name, key], index) => (
        <li key={name} class={index < reached || (index === reached && stage !== "requested") ? "done" : ""} aria-current={index === reached ? "step" : undefined}>
          <span class="dot" aria-hidden="true">{index < reached || stage !== "requested" ? "✓" : ""}</span>
          {index === 0 && stage !== "requested" ? t("pStageApproved") : t(key)}
        </li>
      ))}
    </ol>
  );
}
