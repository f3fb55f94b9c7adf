/**
 * The sponsor's plan documents: the current set (adoption agreement, summary plan description in each language,
 * the safe-harbor notice with the window it must be given in), each with its status, version, effective date and
 * SHA-256; reading one (its PDF, fetched with the sponsor's token); signing the adoption agreement (typed name and
 * title, consent to electronic records) with the API's problems shown beside their fields; and the past versions,
 * an amendment listing the provisions it changed.
 */
import { useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../../api/client";
import { useI18n, type MessageKey } from "../../i18n";
import { session } from "../../session";
import { saveBlob } from "../../ui/download";
import { Field } from "../../ui/Field";
import { SignatureForm } from "../../ui/SignatureForm";
import { formProblems } from "../../ui/problems";
import { Empty, ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";

type Document = Schemas["DocumentOut"];

const KIND: Record<string, MessageKey> = { adoption_agreement: "docAdoption", summary_plan_description: "docSummary",
  safe_harbor_notice: "docNotice" };
const LANGUAGE: Record<string, MessageKey> = { en: "docEnglish", es: "docSpanish" };
// The provisions an amendment can list (backend/documents/provisions.py PROVISION_KEYS), by their names.
const PROVISION: Record<string, MessageKey> = { plan: "provPlan", sponsor: "provSponsor", trustee: "provTrustee",
  plan_year_start: "provPlanYear", eligibility: "provEligibility", auto_enrollment: "provAutoEnroll",
  match_tiers: "provMatch", safe_harbor: "provSafeHarbor", vesting: "provVesting", roth_allowed: "provRoth",
  catch_up_allowed: "provCatchUp", loans_allowed: "provLoans", hardship_allowed: "provHardship",
  default_fund: "provDefaultFund" };

/** A changed provision's name in the reader's language (the API's key where it is not one of these). */
export function provisionName(key: string, t: (key: MessageKey) => string): string {
  return PROVISION[key] ? t(PROVISION[key]) : key.replace(/_/g, " ");
}
const ORDER = ["adoption_agreement", "summary_plan_description", "safe_harbor_notice"];

/** draft / awaiting signature / signed / superseded: a summary or notice is a draft until the plan's adoption
 * agreement is signed, then in effect. */
export function statusOf(document: Document, agreementSigned: boolean): MessageKey {
  if (document.status === "superseded") return "docSuperseded";
  if (document.signature) return "docSigned";
  if (document.signable) return "docAwaiting";
  return agreementSigned ? "docInEffect" : "docDraft";
}

const byKind = (a: Document, b: Document) => ORDER.indexOf(a.kind ?? "") - ORDER.indexOf(b.kind ?? "")
  || (a.language ?? "").localeCompare(b.language ?? "") || (b.version ?? 0) - (a.version ?? 0);

async function loadDocuments(): Promise<{ planId: string; documents: Document[] } | null> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return null;
  const employer = await call(api.GET("/v1/employers/{employer_id}", { params: { path: { employer_id: employerId } } }));
  const planId = employer.plans?.[0]?.id;
  if (!planId) return null;
  const documents = await call(api.GET("/v1/plans/{plan_id}/documents", { params: { path: { plan_id: planId } } }));
  return { planId, documents: [...documents].sort(byKind) };
}

/** Fetch the PDF with the sponsor's token and hand it to the browser's viewer (or the phone's download). */
async function openPdf(document: Document): Promise<void> {
  const blob = await call(api.GET("/v1/documents/{document_id}/pdf",
    { params: { path: { document_id: document.id ?? "" } }, parseAs: "blob" })) as Blob;
  saveBlob(blob, `${document.kind}-v${document.version}-${document.language}.pdf`);
}

/** The form that signs the adoption agreement, as the logged-in sponsor. */
export function SignForm({ document, onSigned }: { document: Document; onSigned: (s: Schemas["SignatureOut"]) => void }) {
  return <SignatureForm testId="sign-form" headingId={`sign-${document.id}`} onSigned={onSigned}
    send={(body) => call(api.POST("/v1/documents/{document_id}/signature",
      { params: { path: { document_id: document.id ?? "" } }, body }))} />;
}

export function DocumentCard({ document, agreementSigned, onSigned }: { document: Document; agreementSigned: boolean;
  onSigned?: (s: Schemas["SignatureOut"]) => void }) {
  const { t, locale } = useI18n();
  const [pdfError, setPdfError] = useState<unknown>(null);
  const day = (iso?: string | null) => iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "long" }) : "";
  const when = (iso?: string | null) => iso ? new Date(iso).toLocaleString(locale, { dateStyle: "long", timeStyle: "short" }) : "";
  const status = statusOf(document, agreementSigned);
  const heading = `${t(KIND[document.kind ?? ""] ?? "docAdoption")} (${t(LANGUAGE[document.language ?? ""] ?? "docEnglish")})`;
  const signature = document.signature;
  return (
    <li class="card doc" data-testid={`doc-${document.kind}-${document.language}-v${document.version}`}>
      <div class="title-row">
        <h3>{heading}</h3>
        <span class={`badge doc-${status}`} data-testid="doc-status">{t(status)}</span>
      </div>
      <dl class="pairs">
        <dt>{t("docVersion")}</dt><dd>{document.version}</dd>
        <dt>{t("docEffective")}</dt><dd>{day(document.effective_on)}</dd>
        {document.notice_deadline && <><dt>{t("docNoticeWindow")}</dt>
          <dd data-testid="notice-deadline">{t("docNoticeDates", { from: day(document.notice_opens_on),
            to: day(document.notice_deadline) })}</dd></>}
      </dl>
      <p class="hash"><span class="muted">{t("docHash")}</span> <code>{document.sha256}</code></p>
      {document.amendment && (
        <div data-testid="amendment">
          <p><strong>{t("docAmendment", { date: day(document.amendment.effective_on) })}</strong></p>
          <ul>{(document.amendment.changes ?? []).map((c) => <li key={c}>{provisionName(c, t)}</li>)}</ul>
        </div>
      )}
      {signature && (
        <p class="notice" data-testid="signed">
          {t("docSignedBy", { name: signature.typed_name ?? "", title: signature.title ?? "", at: when(signature.signed_at) })}
          <br /><span class="muted">{t("docSignedHash")}</span> <code>{signature.signed_sha256}</code>
        </p>
      )}
      {pdfError != null && <ErrorBox error={pdfError} />}
      <div class="actions">
        <button type="button" class="secondary" onClick={() => openPdf(document).then(() => setPdfError(null), setPdfError)}
          aria-label={`${t("docRead")}: ${heading}, ${t("docVersion")} ${document.version}`}>{t("docRead")}</button>
      </div>
      {document.signable && onSigned && <SignForm document={document} onSigned={onSigned} />}
    </li>
  );
}

export function Documents() {
  const { t } = useI18n();
  const loaded = useLoad(loadDocuments);
  const [signed, setSigned] = useState<Schemas["SignatureOut"] | null>(null);
  const [noticeYear, setNoticeYear] = useState(String(new Date().getFullYear() + 1));
  const [noticeError, setNoticeError] = useState<unknown>(null);

  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (loaded.loading && !loaded.data) return <main class="screen"><Loading /></main>;
  if (!loaded.data) return <main class="screen"><h1>{t("docTitle")}</h1><Empty>{t("noPlan")}</Empty></main>;
  const { planId, documents } = loaded.data;
  const current = documents.filter((d) => d.status !== "superseded");
  const past = documents.filter((d) => d.status === "superseded");
  const agreementSigned = current.some((d) => d.kind === "adoption_agreement" && d.signature);
  const hasNotice = current.some((d) => d.kind === "safe_harbor_notice");
  const noticeProblems = formProblems(noticeError instanceof ApiError ? noticeError : null, ["plan_year"]);

  const drawUpNotice = (event: Event) => {
    event.preventDefault();
    call(api.POST("/v1/plans/{plan_id}/safe-harbor-notices", { params: { path: { plan_id: planId } },
      body: { plan_year: Number(noticeYear) } })).then(() => { setNoticeError(null); loaded.reload(); }, setNoticeError);
  };

  return (
    <main class="screen wide documents">
      <h1>{t("docTitle")}</h1>
      {signed && (
        <p class="notice" role="status" data-testid="just-signed">
          {t("docJustSigned", { hash: signed.document_sha256 ?? "" })}
        </p>
      )}
      <section aria-labelledby="docs-current">
        <h2 id="docs-current">{t("docCurrent")}</h2>
        {current.length === 0 ? <Empty>{t("docNone")}</Empty> : (
          <ul class="docs" data-testid="docs-current">
            {current.map((d) => <DocumentCard key={d.id} document={d} agreementSigned={agreementSigned}
              onSigned={(s) => { setSigned(s); loaded.reload(); }} />)}
          </ul>
        )}
      </section>
      {!hasNotice && (
        <form class="card" onSubmit={drawUpNotice} noValidate aria-labelledby="notice-title">
          <h2 id="notice-title">{t("docNoticeTitle")}</h2>
          <p class="muted">{t("docNoticeHint")}</p>
          <Field id="plan_year" label={t("docPlanYear")} value={noticeYear} inputMode="numeric" maxLength={4}
            onInput={(e) => setNoticeYear(e.currentTarget.value)} errors={noticeProblems.byField.plan_year} />
          {noticeError != null && noticeProblems.byField.plan_year === undefined
            && <ErrorBox error={noticeError} extra={noticeProblems.general} />}
          <button type="submit" class="secondary">{t("docNoticeDraw")}</button>
        </form>
      )}
      <section aria-labelledby="docs-past">
        <h2 id="docs-past">{t("docPast")}</h2>
        {past.length === 0 ? <Empty>{t("docNoPast")}</Empty> : (
          <ul class="docs" data-testid="docs-past">
            {past.map((d) => <DocumentCard key={d.id} document={d} agreementSigned={agreementSigned} />)}
          </ul>
        )}
      </section>
    </main>
  );
}
