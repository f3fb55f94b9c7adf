/**
 * Settings: push on this phone (or why there is none: the server has no Firebase configuration, the browser cannot,
 * or permission was refused), which notifications come by push and by email, quiet hours, language (the app's and
 * the notifications'), log out.
 */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, call, type Schemas } from "../../api/client";
import { hasMessage, LANGUAGES, useI18n, type Language, type MessageKey } from "../../i18n";
import { disablePush, enablePush, forgetPushToken, pushState, thisDeviceId, type PushState } from "../../push";
import { formProblems } from "../../ui/problems";
import { FieldError } from "../../ui/Field";
import { ErrorBox, Loading } from "../../ui/states";
import { useLoad } from "../../ui/useLoad";

type Settings = Schemas["NotificationSettingsOut"];
type Patch = Schemas["NotificationSettingsIn"];
const PUSH_TEXT: Record<PushState, MessageKey> = { unavailable: "pPushUnavailable", unsupported: "pPushUnsupported",
  denied: "pPushDenied", off: "pPushOff", on: "pPushOn" };

export function SettingsScreen({ onLanguage, onLogOut }: { onLanguage: (language: Language) => void; onLogOut: () => void }) {
  const { t, language, locale } = useI18n();
  const loaded = useLoad(() => call(api.GET("/mobile/v1/me/notification-settings")));
  const [settings, setSettings] = useState<Settings | null>(null);
  const [push, setPush] = useState<PushState | null>(null);
  const [pushError, setPushError] = useState<unknown>(null);
  const devices = useLoad(() => call(api.GET("/mobile/v1/devices")), [push]);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [quiet, setQuiet] = useState({ enabled: false, start: "21:00", end: "08:00" });

  useEffect(() => { void pushState().then(setPush); }, []);
  useEffect(() => {
    if (!loaded.data) return;
    setSettings(loaded.data);
    setQuiet({ enabled: loaded.data.quiet_hours?.enabled ?? false, start: loaded.data.quiet_hours?.start ?? "21:00",
      end: loaded.data.quiet_hours?.end ?? "08:00" });
  }, [loaded.data]);

  if (loaded.error) return <main class="screen"><ErrorBox error={loaded.error} onRetry={loaded.reload} /></main>;
  if (!settings) return <main class="screen"><Loading /></main>;
  const problems = formProblems(error, ["quiet_hours", "categories", "language"]);

  async function patch(body: Patch) {
    setError(null);
    setSaved(false);
    try {
      setSettings(await call(api.PATCH("/mobile/v1/me/notification-settings", { body })));
      setSaved(true);
    } catch (caught) {
      setError(caught as ApiError);
    }
  }
  async function togglePush() {
    setPushError(null);
    try {
      setPush(await (push === "on" ? disablePush() : enablePush()));
    } catch (caught) {
      setPushError(caught);
    }
  }
  async function removeDevice(id: string) {
    setPushError(null);
    try {
      await call(api.DELETE("/mobile/v1/devices/{token_or_id}", { params: { path: { token_or_id: id } } }));
      if (id === thisDeviceId()) forgetPushToken();
      setPush(await pushState());
      devices.reload();
    } catch (caught) {
      setPushError(caught);
    }
  }
  const chooseLanguage = (next: Language) => { onLanguage(next); void patch({ language: next }); };
  const category = (name: string) => (hasMessage(`pCat_${name}`) ? t(`pCat_${name}` as MessageKey) : name);

  return (
    <main class="screen">
      <h1>{t("pSettingsTitle")}</h1>
      <section class="card" aria-labelledby="push-title">
        <h2 id="push-title">{t("pPushTitle")}</h2>
        <p data-testid="push-state">{push ? t(PUSH_TEXT[push]) : t("loading")}</p>
        {(push === "on" || push === "off") && (
          <button type="button" class={push === "on" ? "secondary" : ""} onClick={togglePush}>
            {push === "on" ? t("pPushDisable") : t("pPushEnable")}</button>
        )}
        <h3>{t("pDevices")}</h3>
        {devices.error ? <ErrorBox error={devices.error} onRetry={devices.reload} /> : !devices.data ? <Loading /> :
          devices.data.length === 0 ? <p class="muted">{t("pNoDevices")}</p> : (
            <ul class="rows" data-testid="devices">
              {devices.data.map((device) => (
                <li key={device.id}>
                  <span>{device.id === thisDeviceId() ? t("pThisDevice") : t(device.platform === "web" ? "pDeviceWeb" : "pDevicePhone")}
                    <span class="muted"> · {t("pLastSeen", { date: new Date(device.last_seen_at ?? "").toLocaleDateString(locale, { dateStyle: "medium" }) })}</span></span>
                  <button type="button" class="secondary" onClick={() => removeDevice(device.id ?? "")}>{t("pBenRemove")}</button>
                </li>
              ))}
            </ul>
          )}
        {pushError instanceof ApiError ? <ErrorBox error={pushError} />
          : pushError != null && <p class="field-error" role="alert">{t("pPushFailed")}</p>}
      </section>
      <section class="card" aria-labelledby="categories-title">
        <h2 id="categories-title">{t("pNotifyTitle")}</h2>
        <table class="choices">
          <thead><tr><th scope="col">{t("pCategory")}</th><th scope="col">{t("pPush")}</th><th scope="col">{t("pEmail")}</th></tr></thead>
          <tbody>
            {(settings.categories ?? []).map((choice) => (
              <tr key={choice.category}>
                <th scope="row">{category(choice.category ?? "")}{!choice.mutable && <span class="muted"> · {t("pAlwaysSent")}</span>}</th>
                {(["push", "email"] as const).map((channel) => (
                  <td key={channel}><input type="checkbox" checked={choice[channel] ?? false} disabled={!choice.mutable}
                    aria-label={`${category(choice.category ?? "")}: ${t(channel === "push" ? "pPush" : "pEmail")}`}
                    onChange={(e) => patch({ categories: [{ category: choice.category ?? "", [channel]: e.currentTarget.checked }] })} /></td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <FieldError messages={problems.byField.categories} />
      </section>
      <form class="card" aria-labelledby="quiet-title" onSubmit={(e) => { e.preventDefault(); void patch({ quiet_hours: quiet }); }}>
        <h2 id="quiet-title">{t("pQuietTitle")}</h2>
        <p class="hint">{t("pQuietHint", { zone: settings.time_zone ?? "" })}</p>
        <label class="check"><input type="checkbox" checked={quiet.enabled}
          onChange={(e) => setQuiet({ ...quiet, enabled: e.currentTarget.checked })} />{t("pQuietOn")}</label>
        <div class="two">
          <div class="field"><label for="quiet-start">{t("pQuietStart")}</label>
            <input id="quiet-start" type="time" value={quiet.start} disabled={!quiet.enabled}
              aria-invalid={problems.byField.quiet_hours ? "true" : undefined}
              aria-describedby={problems.byField.quiet_hours ? "quiet-error" : undefined}
              onInput={(e) => setQuiet({ ...quiet, start: e.currentTarget.value })} /></div>
          <div class="field"><label for="quiet-end">{t("pQuietEnd")}</label>
            <input id="quiet-end" type="time" value={quiet.end} disabled={!quiet.enabled}
              aria-invalid={problems.byField.quiet_hours ? "true" : undefined}
              aria-describedby={problems.byField.quiet_hours ? "quiet-error" : undefined}
              onInput={(e) => setQuiet({ ...quiet, end: e.currentTarget.value })} /></div>
        </div>
        <FieldError id="quiet-error" messages={problems.byField.quiet_hours} />
        <button type="submit">{t("pQuietSave")}</button>
      </form>
      <section class="card" aria-labelledby="language-title">
        <h2 id="language-title">{t("language")}</h2>
        <div class="field"><label for="settings-language">{t("pLanguageHint")}</label>
          <select id="settings-language" value={language} onChange={(e) => chooseLanguage(e.currentTarget.value as Language)}>
            {Object.entries(LANGUAGES).map(([code, name]) => <option key={code} value={code} lang={code}>{name}</option>)}
          </select></div>
        <FieldError messages={problems.byField.language} />
      </section>
      {error && problems.general.length + (error.problem.errors?.length ? 0 : 1) > 0 && <ErrorBox error={error} extra={problems.general} />}
      {saved && <p class="notice" role="status" data-testid="settings-saved">{t("pSaved")}</p>}
      <button type="button" class="secondary wide" onClick={onLogOut}>{t("logOut")}</button>
    </main>
  );
}
