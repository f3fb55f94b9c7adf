/**
 * Signing the plan's adoption agreement from the link emailed to the sponsor admin (/app/sign/<token>), without an
 * account: the link is the credential, so no one logs in. The screen shows which document it is (plan, employer,
 * version, SHA-256, who the link was sent to), opens its PDF, takes the typed name, title and consent with the API's
 * problems beside each field, and ends on "Signed" with the hash signed. Every way a link fails (mistyped, used,
 * expired, replaced) reads the same.
 */
import { useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { saveBlob } from "../ui/download";
import { Field, FieldError } from "../ui/Field";
import { provisionName } from "./sponsor/Documents";
import { formProblems } from "../ui/problems";
import { ErrorBox, Loading } from "../ui/states";
import { useLoad } from "../ui/useLoad";

type Link = Schemas["SigningLinkOut"];
type Signature = Schemas["SignatureOut"];
const SIGN_FIELDS = ["typed_name", "title", "consent_to_electronic_records"] as const;

const path = (token: string) => ({ params: { path: { token } } });

async function openPdf(token: string, link: Link): Promise<void> {
  const blob = await call(api.GET("/v1/signing/{token}/pdf", { ...path(token), parseAs: "blob" })) as Blob;
  saveBlob(blob, `${link.kind}-v${link.version}.pdf`);
}

/** The signing form: sends what was entered as it is, so the API's every problem shows beside its field. */
export function LinkSignForm({ token, onSigned }: { token: string; onSigned: (signature: Signature) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [title, setTitle] = useState("");
  const [consent, setConsent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const problems = formProblems(error instanceof ApiError ? error : null, SIGN_FIELDS);
  const consentErrors = problems.byField.consent_to_electronic_records ?? [];

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // The API accepts only true; an unticked box is sent as it is, so the API's reason shows beside it.
      onSigned(await call(api.POST("/v1/signing/{token}", { ...path(token),
        body: { typed_name: name, title, consent_to_electronic_records: consent as true } })));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate data-testid="link-sign-form" aria-labelledby="link-sign-title">
      <h2 id="link-sign-title">{t("docSignTitle")}</h2>
      <p class="muted">{t("docSignHint")}</p>
      <Field id="typed_name" label={t("docTypedName")} value={name} autocomplete="name"
        onInput={(e) => setName(e.currentTarget.value)} errors={problems.byField.typed_name} />
      <Field id="title" label={t("docSignerTitle")} value={title} autocomplete="organization-title"
        onInput={(e) => setTitle(e.currentTarget.value)} errors={problems.byField.title} />
      <div class="field">
        <label class="check" for="consent">
          <input id="consent" type="checkbox" checked={consent} onChange={(e) => setConsent(e.currentTarget.checked)}
            aria-invalid={consentErrors.length ? "true" : undefined}
            aria-describedby={consentErrors.length ? "consent-error" : undefined} />
          <span>{t("docConsent")}</span>
        </label>
        <FieldError id="consent-error" messages={consentErrors} />
      </div>
      {error != null && (!(error instanceof ApiError) || problems.general.length > 0 || !error.problem.errors?.length)
        && <ErrorBox error={error} extra={problems.general} />}
      <button type="submit" disabled={busy}>{busy ? t("docSigning") : t("docSign")}</button>
    </form>
  );
}

export function SignLink({ token }: { token: string }) {
  const { t, locale } = useI18n();
  const loaded = useLoad(() => call(api.GET("/v1/signing/{token}", path(token))), [token]);
  const [signed, setSigned] = useState<Signature | null>(null);
  const [pdfError, setPdfError] = useState<unknown>(null);
  const day = (iso?: string | null) => iso ? new Date(`${iso}T12:00:00`).toLocaleDateString(locale, { dateStyle: "long" }) : "";

  if (signed) {
    const link = loaded.data;
    return (
      <main class="screen sign-link">
        <h1>{t("slSignedTitle")}</h1>
        <p class="notice" role="status" data-testid="link-signed">
          {t("slSigned", { version: String(link?.version ?? ""), plan: link?.plan ?? "" })}
        </p>
        <p class="hash"><span class="muted">{t("slSignedHash")}</span> <code data-testid="signed-hash">{signed.document_sha256}</code></p>
        <p class="muted">{t("slNext")}</p>
      </main>
    );
  }
  if (loaded.loading && !loaded.data) return <main class="screen sign-link"><Loading /></main>;
  if (loaded.error) {
    const gone = loaded.error instanceof ApiError && loaded.error.status === 404;
    return (
      <main class="screen sign-link">
        <h1>{t("slTitle")}</h1>
        {gone ? <p class="error-box" role="alert" data-testid="link-invalid">{t("slInvalid")}</p>
          : <ErrorBox error={loaded.error} onRetry={loaded.reload} />}
      </main>
    );
  }
  const link = loaded.data!;
  return (
    <main class="screen sign-link">
      <h1>{t("slTitle")}</h1>
      <p>{t("slIntro", { employer: link.employer ?? "", email: link.addressed_to ?? "" })}</p>
      <section class="card doc" aria-labelledby="link-doc">
        <h2 id="link-doc">{link.title}</h2>
        <dl class="pairs">
          <dt>{t("slPlan")}</dt><dd>{link.plan}</dd>
          <dt>{t("slEmployer")}</dt><dd>{link.employer}</dd>
          <dt>{t("docVersion")}</dt><dd>{link.version}</dd>
          <dt>{t("docEffective")}</dt><dd>{day(link.effective_on)}</dd>
        </dl>
        <p class="hash"><span class="muted">{t("docHash")}</span> <code data-testid="link-hash">{link.sha256}</code></p>
        {(link.changes ?? []).length > 0 && (
          <div data-testid="link-changes">
            <p>{t("slChanges")}</p>
            <ul>{(link.changes ?? []).map((change) => <li key={change}>{provisionName(change, t)}</li>)}</ul>
          </div>
        )}
        <p class="muted">{t("slReadFirst")}</p>
        {pdfError != null && <ErrorBox error={pdfError} />}
        <div class="actions">
          <button type="button" class="secondary" data-testid="link-read"
            onClick={() => openPdf(token, link).then(() => setPdfError(null), setPdfError)}>{t("docRead")}</button>
        </div>
      </section>
      <section class="card">
        <LinkSignForm token={token} onSigned={setSigned} />
      </section>
    </main>
  );
}
