/** The app's shell: who is logged in decides the screens (participant or sponsor), a header with the language
 * switch and log-out, and a bottom bar of the role's screens. */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "./api/client";
import { I18n, initialLanguage, LANGUAGES, saveLanguage, translator, type Language, type MessageKey } from "./i18n";
import { navigate, useRoute } from "./router";
import { session, type EndReason } from "./session";
import { Feed } from "./screens/Feed";
import { Home } from "./screens/Home";
import { Login } from "./screens/Login";
import { Rate } from "./screens/Rate";
import { SignUp } from "./screens/SignUp";
// ---- sponsor screens, offline (apps)
import { Approvals } from "./screens/sponsor/Approvals";
import { Compliance } from "./screens/sponsor/Compliance";
import { Exceptions } from "./screens/sponsor/Exceptions";
import { useOnline } from "./offline";
// ---- end apps

const PARTICIPANT_TABS: [string, MessageKey][] = [["/", "navHome"], ["/rate", "navRate"], ["/feed", "navFeed"]];
// ---- sponsor screens (apps)
const SPONSOR_TABS: [string, MessageKey][] = [["/", "navApprovals"], ["/compliance", "navCompliance"],
  ["/exceptions", "navExceptions"], ["/feed", "navFeed"]];
const sponsorScreen = (route: string) => route === "/feed" ? <Feed /> : route === "/compliance" ? <Compliance />
  : route === "/exceptions" ? <Exceptions /> : <Approvals />;
// ---- end apps

export function App() {
  const [language, setLanguage] = useState<Language>(initialLanguage);
  const i18n = useMemo(() => translator(language), [language]);
  const route = useRoute();
  const [role, setRole] = useState(session.role());
  const [ended, setEnded] = useState<EndReason | undefined>();
  const online = useOnline(); // apps

  useEffect(() => { document.documentElement.lang = language; }, [language]);
  useEffect(() => session.subscribe((reason) => {
    setRole(session.role());
    setEnded(reason);
    if (reason) navigate("/login", true);
  }), []);

  const chooseLanguage = (next: Language) => { saveLanguage(next); setLanguage(next); };
  const logOut = () => {
    // The app logs out at once; the server's session ends too (its refresh token stops working) when this call
    // arrives, which carries the token itself since the session is gone by the time it is sent.
    const token = session.current()?.access_token;
    if (token) void api.POST("/v1/auth/logout", { headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
    session.end("logout");
  };

  let screen;
  if (!role) {
    screen = route === "/signup" ? <SignUp />
      : <Login notice={ended === "expired" ? i18n.t("sessionEnded") : undefined} />;
  } else if (role === "participant") {
    screen = route === "/rate" ? <Rate /> : route === "/feed" ? <Feed /> : <Home />;
  } else {
    screen = sponsorScreen(route);
  }
  const tabs = !role ? [] : role === "participant" ? PARTICIPANT_TABS : SPONSOR_TABS;
  const active = tabs.some(([path]) => path === route) ? route : "/";

  return (
    <I18n.Provider value={i18n}>
      <header class="top">
        <span class="brand">{i18n.t("appName")}</span>
        <label class="language">
          <span class="visually-hidden">{i18n.t("language")}</span>
          <select value={language} onChange={(e) => chooseLanguage(e.currentTarget.value as Language)}>
            {Object.entries(LANGUAGES).map(([code, name]) => <option key={code} value={code} lang={code}>{name}</option>)}
          </select>
        </label>
        {role && <button type="button" class="secondary" onClick={logOut}>{i18n.t("logOut")}</button>}
      </header>
      {!online && <p class="notice warn offline-banner" role="status" data-testid="offline">{i18n.t("offlineBanner")}</p>}
      {screen}
      {tabs.length > 0 && (
        <nav class="tabs" aria-label={i18n.t("appName")}>
          {tabs.map(([path, key]) => (
            <a key={path} href={`/app${path}`} aria-current={active === path ? "page" : undefined}
              onClick={(e) => { e.preventDefault(); navigate(path); }}>{i18n.t(key)}</a>
          ))}
        </nav>
      )}
    </I18n.Provider>
  );
}
