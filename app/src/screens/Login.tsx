/** Log in with email and password (participants and sponsors alike; the role decides the screens). */
import { useState } from "preact/hooks";
import { api, ApiError, call } from "../api/client";
import { useI18n } from "../i18n";
import { navigate } from "../router";
import { session } from "../session";
import { Field } from "../ui/Field";
import { formProblems } from "../ui/problems";
import { ErrorBox } from "../ui/states";
import { useAction } from "../ui/useAction";

const FIELDS = ["email", "password"] as const;

export function Login({ notice }: { notice?: string }) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction<ApiError>();
  const problems = formProblems(error, FIELDS);

  async function submit(event: Event) {
    event.preventDefault();
    await run(async () => {
      session.start(await call(api.POST("/v1/auth/login", { body: { email, password } })));
      navigate("/", true);
    });
  }

  return (
    <main class="screen narrow">
      <h1>{t("logInTitle")}</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <Field id="email" label={t("email")} type="email" autocomplete="username" value={email}
          onInput={(e: { currentTarget: HTMLInputElement }) => setEmail(e.currentTarget.value)} errors={problems.byField.email} required />
        <Field id="password" label={t("password")} type="password" autocomplete="current-password"
          value={password} onInput={(e: { currentTarget: HTMLInputElement }) => setPassword(e.currentTarget.value)} errors={problems.byField.password}
          required />
        {error && <ErrorBox error={error} extra={problems.general} />}
        <button type="submit" disabled={busy}>
          {busy ? t("loggingIn") : t("logIn")}
        </button>
      </form>
      <p>
        <a href="/app/signup" onClick={(e) => { e.preventDefault(); navigate("/signup"); }}>
          {t("noAccount")}
        </a>
      </p>
    </main>
  );
}
