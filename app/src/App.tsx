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

// ---- participant screens (appp)
import { Balance } from "./screens/participant/Balance";
import { Beneficiaries } from "./screens/participant/Beneficiaries";
import { Investments } from "./screens/participant/Investments";
import { Plan } from "./screens/participant/Plan";
import { SettingsScreen } from "./screens/participant/Settings";
import { followPushTaps, forgetPushToken, pushToken, resumePush } from "./push";
// ---- tab bar (apprest)
import { TabBar } from "./ui/TabBar";
// ---- end apprest

/** The participant's own screens by route (null: a route of the shared screens). */
function participantScreen(route: string, chooseLanguage: (language: Language) => void, logOut: () => void) {
  if (route === "/plan") return <Plan />;
  if (route.startsWith("/election/")) return <Plan electionId={decodeURIComponent(route.slice("/election/".length))} />;
  if (route === "/balance") return <Balance />;
  if (route === "/investments") return <Investments />;
  if (route === "/beneficiaries") return <Beneficiaries />;
  if (route === "/settings") return <SettingsScreen onLanguage={chooseLanguage} onLogOut={logOut} />;
  return null;
}
// ---- end participant screens

const PARTICIPANT_TABS: [string, MessageKey][] = [["/", "navHome"], ["/plan", "navPlan"], ["/balance", "navBalance"],
  ["/feed", "navFeed"], ["/settings", "navSettings"]];
// ---- sponsor screens (apps)
const SPONSOR_TABS: [string, MessageKey][] = [["/", "navApprovals"], ["/compliance", "navCompliance"],
  ["/exceptions", "navExceptions"], ["/feed", "navFeed"]];
const sponsorScreen = (route: string) => route === "/feed" ? <Feed /> : route === "/compliance" ? <Compliance />
  : route === "/exceptions" ? <Exceptions /> : <Approvals />;
// ---- end apps

// ---- documents and billing (docapp)
import { Billing } from "./screens/sponsor/Billing";
import { Documents } from "./screens/sponsor/Documents";
const DOCAPP_SPONSOR_TABS: [string, MessageKey][] = [["/documents", "navDocuments"], ["/billing", "navBilling"]];
const docappSponsorScreen = (route: string) => route === "/documents" ? <Documents />
  : route === "/billing" ? <Billing /> : null;
// ---- end documents and billing

// ---- people, dashboard, book (ovapp)
import { Account } from "./screens/sponsor/Account";
import { Dashboard } from "./screens/sponsor/Dashboard";
import { People } from "./screens/sponsor/People";
import { Book } from "./screens/advisor/Book";
import { Pipeline } from "./screens/advisor/Pipeline";
const OVAPP_SPONSOR_TABS: [string, MessageKey][] = [["/dashboard", "navDashboard"], ["/people", "navPeople"]];
const ADVISOR_TABS: [string, MessageKey][] = [["/", "navBook"], ["/pipeline", "navPipeline"]];
/** Advisors (and the platform) see a book of plans; everyone else who is not a participant is a plan's sponsor. */
const isAdvisor = (role: string | null) => role === "advisor" || role === "platform_admin";
const ovappSponsorScreen = (route: string) => route === "/dashboard" ? <Dashboard />
  : route === "/people" ? <People />
  : route.startsWith("/people/") ? <Account employeeId={decodeURIComponent(route.slice("/people/".length))} /> : null;
/** The book is home; a plan opens its dashboard (/plans/<id>), its people and one person's account beneath it. */
function advisorScreen(route: string) {
  if (route === "/pipeline") return <Pipeline />;
  const [, plans, planId, people, employeeId] = route.split("/");
  if (plans !== "plans" || !planId) return <Book />;
  const plan = decodeURIComponent(planId);
  const base = `/plans/${planId}/people`;
  if (people !== "people") return <Dashboard planId={plan} peopleRoute={base} links={false} />;
  if (!employeeId) return <People planId={plan} base={base} />;
  return <Account planId={plan} employeeId={decodeURIComponent(employeeId)} back={base} />;
}
/** The tab of a screen beneath another: a person under the people, a plan under the book. */
const ovappTab = (route: string, advisor: boolean) => advisor ? (route.startsWith("/plans/") ? "/" : null)
  : route.startsWith("/people/") ? "/people" : null;
// ---- end people, dashboard, book

// ---- signing link (signlink): /sign/<token> opens for anyone, logged in or not (the link is the credential)
import { SignLink } from "./screens/SignLink";
const signLinkScreen = (route: string) => route.startsWith("/sign/")
  ? <SignLink token={decodeURIComponent(route.slice("/sign/".length))} /> : null;
// ---- end signing link
// ---- messages to payroll (appes): reached from the dashboard's count of failed messages, under its tab
import { PayrollMessages } from "./screens/sponsor/PayrollMessages";
const appesSponsorScreen = (route: string) => route === "/payroll-messages" ? <PayrollMessages /> : null;
const appesTab = (route: string) => route === "/payroll-messages" ? "/dashboard" : null;
// ---- end appes

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

  // ---- participant screens (appp): a tapped push opens its screen; push re-registers on each start
  useEffect(() => followPushTaps(route), []);
  useEffect(() => { if (role === "participant") void resumePush(); }, [role]);
  // ---- end participant screens

  const chooseLanguage = (next: Language) => { saveLanguage(next); setLanguage(next); };
  const logOut = () => {
    // The app logs out at once; the server's session ends too (its refresh token stops working) when this call
    // arrives, which carries the token itself since the session is gone by the time it is sent.
    const token = session.current()?.access_token;
    // This phone stops getting the participant's pushes once they log out on it (before the session ends).
    const device = pushToken();
    forgetPushToken();
    const headers = { Authorization: `Bearer ${token}` };
    const forget = token && device ? api.DELETE("/mobile/v1/devices/{token_or_id}",
      { params: { path: { token_or_id: device } }, headers }).catch(() => undefined) : Promise.resolve();
    if (token) void forget.then(() => api.POST("/v1/auth/logout", { headers })).catch(() => undefined);
    session.end("logout");
  };

  let screen;
  if (!role) {
    screen = route === "/signup" ? <SignUp />
      : <Login notice={ended === "expired" ? i18n.t("sessionEnded") : undefined} />;
  } else if (role === "participant") {
    screen = participantScreen(route, chooseLanguage, logOut)
      ?? (route === "/rate" ? <Rate /> : route === "/feed" ? <Feed /> : <Home />);
  } else if (isAdvisor(role)) {
    screen = advisorScreen(route); // ovapp
  } else {
    screen = docappSponsorScreen(route) ?? ovappSponsorScreen(route) ?? appesSponsorScreen(route) ?? sponsorScreen(route);
  }
  screen = signLinkScreen(route) ?? screen; // signlink
  const tabs = !role ? [] : role === "participant" ? PARTICIPANT_TABS : isAdvisor(role) ? ADVISOR_TABS
    : [...SPONSOR_TABS, ...DOCAPP_SPONSOR_TABS, ...OVAPP_SPONSOR_TABS];
  const active = tabs.some(([path]) => path === route) ? route : ovappTab(route, isAdvisor(role)) ?? appesTab(route)
    ?? (route.startsWith("/election/") ? "/plan" : "/");

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
      {tabs.length > 0 && <TabBar tabs={tabs} active={active} />}
    </I18n.Provider>
  );
}
