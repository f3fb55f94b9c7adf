/** Who receives the account: primary and contingent beneficiaries, each tier's shares adding to 100%. */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { FieldError } from "../../ui/Field";
import { ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";
import { useAction } from "../../ui/useAction";

type Row = Schemas["BeneficiaryIn"];
const RELATIONSHIPS: Row["relationship"][] = ["spouse", "child", "parent", "sibling", "other_person", "trust", "estate", "charity"];
const blank = (): Row => ({ name: "", relationship: "spouse", tier: "primary", percent: "100" });

export function Beneficiaries() {
  const { t } = useI18n();
  const loaded = useLoad(() => call(api.GET("/mobile/v1/beneficiaries")));
  const [rows, setRows] = useState<Row[]>([]);
  const { busy, error, run } = useAction<ApiError>();
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (loaded.data) setRows((loaded.data.beneficiaries ?? []).map((b) => ({ name: b.name ?? "",
      relationship: b.relationship as Row["relationship"], tier: b.tier as Row["tier"], percent: b.percent ?? "" })));
  }, [loaded.data]);

  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!loaded.data) return <main class="screen"><Loading /></main>;
  // The API names a row's problem "beneficiaries[1].percent": shown under that row.
  const rowProblems = (index: number) => (error?.problem.errors ?? [])
    .filter((p) => (p.field ?? "").startsWith(`beneficiaries[${index}]`)).map((p) => p.message ?? "");
  // Problems of the whole list ("beneficiaries": the shares' sums) go beside the list; others in the error box.
  const listProblems = (error?.problem.errors ?? []).filter((p) => p.field === "beneficiaries").map((p) => p.message ?? "");
  const others = (error?.problem.errors ?? []).filter((p) => !(p.field ?? "").startsWith("beneficiaries"))
    .map((p) => p.message ?? "");
  const update = (index: number, part: Partial<Row>) => { setSaved(false); setRows(rows.map((r, i) => i === index ? { ...r, ...part } : r)); };

  async function save() {
    await run(async () => {
      await call(api.PUT("/mobile/v1/beneficiaries", { body: { beneficiaries: rows } }));
      setSaved(true);
    });
  }

  return (
    <main class="screen">
      <h1>{t("pBenTitle")}</h1>
      {rows.length === 0 && <p class="state empty">{t("pBenNone")}</p>}
      {rows.map((row, index) => {
        const mine = rowProblems(index);
        return (
          <fieldset class="card" key={index} aria-describedby={mine.length ? `ben-${index}-error` : undefined}>
            <legend>{t("pBenOne", { n: index + 1 })}</legend>
            <div class="field"><label for={`ben-${index}-name`}>{t("pBenName")}</label>
              <input id={`ben-${index}-name`} value={row.name} autocomplete="off" onInput={(e) => update(index, { name: e.currentTarget.value })} /></div>
            <div class="field"><label for={`ben-${index}-rel`}>{t("pBenRelationship")}</label>
              <select id={`ben-${index}-rel`} value={row.relationship}
                onChange={(e) => update(index, { relationship: e.currentTarget.value as Row["relationship"] })}>
                {RELATIONSHIPS.map((r) => <option key={r} value={r}>{t(`pRel_${r}` as MessageKey)}</option>)}
              </select></div>
            <div class="field"><label for={`ben-${index}-tier`}>{t("pBenTier")}</label>
              <select id={`ben-${index}-tier`} value={row.tier} onChange={(e) => update(index, { tier: e.currentTarget.value as Row["tier"] })}>
                <option value="primary">{t("pTierPrimary")}</option><option value="contingent">{t("pTierContingent")}</option>
              </select></div>
            <div class="field"><label for={`ben-${index}-percent`}>{t("pBenPercent")}</label>
              <input id={`ben-${index}-percent`} inputMode="numeric" value={String(row.percent)}
                onInput={(e) => update(index, { percent: e.currentTarget.value })} /></div>
            <FieldError id={`ben-${index}-error`} messages={mine} />
            <button type="button" class="secondary" onClick={() => { setSaved(false); setRows(rows.filter((_, i) => i !== index)); }}>
              {t("pBenRemove")}</button>
          </fieldset>
        );
      })}
      <FieldError id="ben-error" messages={listProblems} />
      <button type="button" class="secondary" onClick={() => { setSaved(false); setRows([...rows, blank()]); }}>{t("pBenAdd")}</button>
      {error && (others.length > 0 || !error.problem.errors?.length) && <ErrorBox error={error} extra={others} />}
      {saved && <p class="notice" role="status" data-testid="saved">{t("pSaved")}</p>}
      <p><button type="button" onClick={save} disabled={busy}>{busy ? t("saving") : t("pSave")}</button></p>
    </main>
  );
}
