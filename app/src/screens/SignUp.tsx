/** Sign up from an invitation: the invite code, the identity check (date of birth, SSN's last four), a password. */
import { useState } from "preact/hooks";
import { api, ApiError, call } from "../api/client";
import { useI18n } from "../i18n";
import { navigate } from "../router";
import { session } from "../session";
import { Field } from "../ui/Field";
import { formProblems } from "../ui/problems";
import { ErrorBox } from "../ui/states";
import { useAction } from "../ui/useAction";

const FIELDS = ["invite_code", "date_of_birth", "ssn_last4", "email", "password"] as const;
type Form = Record<(typeof FIELDS)[number], string>;

export function SignUp() {
  const { t } = useI18n();
  const code = new URLSearchParams(location.search).get("code") ?? "";
  const [form, setForm] = useState<Form>({ invite_code: code, date_of_birth: "", ssn_last4: "", email: "", password: "" });
  const { busy, error, run } = useAction<ApiError>();
  const problems = formProblems(error, FIELDS);
  const bind = (name: keyof Form) => ({
    value: form[name],
    errors: problems.byField[name],
    onInput: (e: { currentTarget: HTMLInputElement }) => setForm({ ...form, [name]: e.currentTarget.value }),
  });

  async function submit(event: Event) {
    event.preventDefault();
    await run(async () => {
      session.start(await call(api.POST("/mobile/v1/signup", { body: form })));
      navigate("/", true);
    });
  }

  return (
    <main class="screen narrow">
      <h1>{t("signUpTitle")}</h1>
      <p>{t("signUpIntro")}</p>
      <form onSubmit={submit} noValidate>
        <Field id="invite_code" label={t("inviteCode")} autocomplete="one-time-code" {...bind("invite_code")} />
        <Field id="date_of_birth" label={t("dateOfBirth")} type="date" autocomplete="bday" {...bind("date_of_birth")} />
        <Field id="ssn_last4" label={t("ssnLast4")} inputMode="numeric" maxLength={4} pattern="[0-9]{4}"
          autocomplete="off" {...bind("ssn_last4")} />
        <Field id="email" label={t("email")} type="email" autocomplete="email" {...bind("email")} />
        <Field id="password" label={t("newPassword")} type="password" autocomplete="new-password" {...bind("password")} />
        {error && <ErrorBox error={error} extra={problems.general} />}
        <button type="submit" disabled={busy}>
          {busy ? t("signingUp") : t("signUp")}
        </button>
      </form>
      <p>
        <a href="/app/login" onClick={(e) => { e.preventDefault(); navigate("/login"); }}>
          {t("haveAccount")}
        </a>
      </p>
    </main>
  );
}
