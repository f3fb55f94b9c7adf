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
import { SignatureForm } from "../ui/SignatureForm";
import { provisionName } from "./sponsor/Documents";
import { ErrorBox, Loading } from "../ui/states";
import { useLoad } from "../ui/useLoad";

type Link = Schemas["SigningLinkOut"];
type Signature = Schemas["SignatureOut"];

const path = (token: string) => ({ params: { path: { token } } });

async function openPdf(token: string, link: Link): Promise<void> {
  const blob = await call(api.GET("/v1/signing/{token}/pdf", { ...path(token), parseAs: "blob" })) as Blob;
  saveBlob(blob, `${link.kind}-v${link.version}.pdf`);
}

/** The signing form, sending through the link. */
export function LinkSignForm({ token, onSigned }: { token: string; onSigned: (signature: Signature) => void }) {
  return <SignatureForm testId="link-sign-form" headingId="link-sign-title" heading="h2" onSigned={onSigned}
    send={(body) => call(api.POST("/v1/signing/{token}", { ...path(token), body }))} />;
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
