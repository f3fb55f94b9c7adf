/**
 * The form that signs a plan document: typed name, title and consent to electronic records, sent as entered (no
 * `required` attributes), so the API's every problem shows beside its field at once. The sponsor's documents screen
 * and the signing link's screen both use it; each says how the signature is sent.
 */
import { useState } from "preact/hooks";
import { ApiError, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { Field, FieldError } from "./Field";
import { formProblems } from "./problems";
import { ErrorBox } from "./states";
import { useAction } from "./useAction";

type Signature = Schemas["SignatureOut"];
export type SignatureBody = { typed_name: string; title: string; consent_to_electronic_records: true };
const SIGN_FIELDS = ["typed_name", "title", "consent_to_electronic_records"] as const;

export function SignatureForm({ send, onSigned, testId, headingId, heading = "h3" }: {
  send: (body: SignatureBody) => Promise<Signature>; onSigned: (signature: Signature) => void; testId: string;
  headingId: string; heading?: "h2" | "h3" }) {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [title, setTitle] = useState("");
  const [consent, setConsent] = useState(false);
  const { busy, error, run } = useAction();
  const problems = formProblems(error instanceof ApiError ? error : null, SIGN_FIELDS);
  const consentErrors = problems.byField.consent_to_electronic_records ?? [];
  const Heading = heading;

  async function submit(event: Event) {
    event.preventDefault();
    await run(async () => {
      // The API accepts only true; an unticked box is sent as it is, so the API's reason shows beside it.
      onSigned(await send({ typed_name: name, title, consent_to_electronic_records: consent as true }));
    });
  }

  return (
    <form onSubmit={submit} noValidate data-testid={testId} aria-labelledby={headingId}>
      <Heading id={headingId}>{t("docSignTitle")}</Heading>
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
