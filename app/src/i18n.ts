/**
 * English and Spanish. The language follows the browser until the reader picks one (kept in localStorage); every
 * string on screen comes from these two tables, which must hold the same keys (the type checks it).
 */
import { createContext } from "preact";
import { useContext } from "preact/hooks";

const en = {
  appName: "Plumb",
  language: "Language",
  logOut: "Log out",
  loading: "Loading…",
  retry: "Try again",
  offline: "Could not reach Plumb. Check your connection and try again.",
  sessionEnded: "Your session ended. Log in again.",
  somethingWrong: "Something went wrong.",
  navHome: "Home",
  navRate: "My rate",
  navFeed: "Notifications",
  navApprovals: "Approvals",
  // log in / sign up
  logInTitle: "Log in",
  email: "Email",
  password: "Password",
  logIn: "Log in",
  loggingIn: "Logging in…",
  noAccount: "Got an invitation? Create your account",
  haveAccount: "Already have an account? Log in",
  signUpTitle: "Create your account",
  signUpIntro: "Use the invite code your employer's plan sent you, and confirm it is you.",
  inviteCode: "Invite code",
  dateOfBirth: "Date of birth",
  ssnLast4: "Last four digits of your SSN",
  newPassword: "Choose a password",
  signUp: "Create account",
  signingUp: "Creating your account…",
  // home
  hello: "Hello, {name}",
  balance: "Your balance",
  vested: "Vested",
  gain: "Gain",
  bySource: "By source",
  byFund: "By fund",
  pending: "Waiting for a price",
  noMoneyYet: "No money in your account yet. Contributions appear here after your first paycheck.",
  yourRate: "Your contribution",
  rateOfPay: "{percent}% of pay",
  notContributing: "You are not contributing yet.",
  changeRate: "Change my rate",
  enroll: "Enroll",
  pendingApproval: "{percent}% is waiting for your employer's approval.",
  // rate
  rateTitle: "How much to save",
  rateLabel: "Contribution, % of pay before tax",
  decrease: "Decrease by 1%",
  increase: "Increase by 1%",
  employerAdds: "Your employer adds",
  perYear: "{amount} a year",
  leftOnTable: "Match left on the table",
  fullMatchAt: "Contribute {percent}% to get the full match.",
  gettingFullMatch: "You get your employer's full match.",
  calculating: "Calculating…",
  saveRate: "Save {percent}%",
  saving: "Saving…",
  savedPending: "Saved. {percent}% takes effect once your employer approves it.",
  savedEffective: "Saved. {percent}% takes effect on {date}.",
  // feed
  feedTitle: "Notifications",
  unread: "{count} unread",
  markAllRead: "Mark all read",
  markRead: "Mark read",
  noNotifications: "No notifications yet.",
  // approvals
  approvalsTitle: "Approvals",
  noApprovals: "Nothing waiting for approval.",
  approve: "Approve",
  reject: "Reject",
  rejectReason: "Reason for rejecting",
  confirmReject: "Reject with this reason",
  cancel: "Cancel",
  approved: "Approved: {name}, {percent}%",
  rejected: "Rejected: {name}",
  changedSinceOpened: "This election changed since you opened it. Review it again.",
  electionOf: "{name}: {percent}% from {date}",
  reasonRequired: "Say why, so the employee knows what to change.",
  // ---- sponsor screens, offline (apps)
  navCompliance: "Compliance",
  navExceptions: "Exceptions",
  selectedCount: "{count} selected",
  approveSelected: "Approve selected",
  rejectSelected: "Reject selected",
  bulkApproved: "Approved {count}.",
  bulkRejected: "Rejected {count}.",
  complianceTitle: "Compliance",
  noPlan: "No plan yet.",
  statusOnTrack: "On track",
  statusNarrow: "Passing by a narrow margin",
  statusAtRisk: "At risk of failing",
  projectedYearEnd: "Projected to the end of {year} at current elections.",
  exemptSafeHarbor: "safe harbor: deemed to pass",
  hceVsLimit: "HCEs {hce}% · others {nhce}% · limit {limit}%",
  theFix: "The fix",
  nothingToFix: "Nothing to fix.",
  fixRefunds: "Refund the HCEs' excess:",
  fixQnec: "Or a qualified nonelective contribution (QNEC) for the others:",
  hceCapTitle: "Highest rate HCEs can still elect",
  hceCap: "{percent}% of pay for the rest of the year.",
  hceCapNone: "No limit: the plan passes at any rate.",
  hceCapZero: "Even 0% fails: see the fix above.",
  historyTitle: "History",
  noHistory: "No history yet: it starts with the first pay run.",
  historyChartLabel: "Projected ADP of HCEs against the limit, {count} points from {from} to {to}",
  legendHce: "HCEs' ADP",
  legendLimit: "Limit",
  exceptionsTitle: "Payroll exceptions",
  noExceptions: "No payroll exceptions to resolve.",
  exceptionMeta: "{code} · {date}",
  resolve: "Resolve",
  resolutionNote: "Note (optional)",
  acceptException: "Accept",
  rejectException: "Reject and return",
  exceptionAccepted: "Accepted.",
  exceptionRejected: "Rejected.",
  offlineBanner: "You are offline. Showing the app saved on this device; figures update when you reconnect.",
  // ---- end apps
};

export type Messages = typeof en;
export type MessageKey = keyof Messages;

const es: Messages = {
  appName: "Plumb",
  language: "Idioma",
  logOut: "Cerrar sesión",
  loading: "Cargando…",
  retry: "Reintentar",
  offline: "No se pudo conectar con Plumb. Revise su conexión e inténtelo de nuevo.",
  sessionEnded: "Su sesión terminó. Inicie sesión de nuevo.",
  somethingWrong: "Algo salió mal.",
  navHome: "Inicio",
  navRate: "Mi aporte",
  navFeed: "Avisos",
  navApprovals: "Aprobaciones",
  logInTitle: "Iniciar sesión",
  email: "Correo electrónico",
  password: "Contraseña",
  logIn: "Entrar",
  loggingIn: "Entrando…",
  noAccount: "¿Recibió una invitación? Cree su cuenta",
  haveAccount: "¿Ya tiene cuenta? Inicie sesión",
  signUpTitle: "Cree su cuenta",
  signUpIntro: "Use el código de invitación que le envió el plan de su empleador y confirme su identidad.",
  inviteCode: "Código de invitación",
  dateOfBirth: "Fecha de nacimiento",
  ssnLast4: "Últimos cuatro dígitos de su SSN",
  newPassword: "Elija una contraseña",
  signUp: "Crear cuenta",
  signingUp: "Creando su cuenta…",
  hello: "Hola, {name}",
  balance: "Su saldo",
  vested: "Adquirido",
  gain: "Ganancia",
  bySource: "Por origen",
  byFund: "Por fondo",
  pending: "Esperando un precio",
  noMoneyYet: "Aún no hay dinero en su cuenta. Los aportes aparecen aquí después de su primer pago.",
  yourRate: "Su aporte",
  rateOfPay: "{percent} % del salario",
  notContributing: "Aún no está aportando.",
  changeRate: "Cambiar mi aporte",
  enroll: "Inscribirme",
  pendingApproval: "{percent} % espera la aprobación de su empleador.",
  rateTitle: "Cuánto ahorrar",
  rateLabel: "Aporte, % del salario antes de impuestos",
  decrease: "Bajar 1 %",
  increase: "Subir 1 %",
  employerAdds: "Su empleador aporta",
  perYear: "{amount} al año",
  leftOnTable: "Aporte del empleador que deja de recibir",
  fullMatchAt: "Aporte {percent} % para recibir todo el aporte del empleador.",
  gettingFullMatch: "Recibe todo el aporte de su empleador.",
  calculating: "Calculando…",
  saveRate: "Guardar {percent} %",
  saving: "Guardando…",
  savedPending: "Guardado. El {percent} % se aplica cuando su empleador lo apruebe.",
  savedEffective: "Guardado. El {percent} % se aplica desde el {date}.",
  feedTitle: "Avisos",
  unread: "{count} sin leer",
  markAllRead: "Marcar todo como leído",
  markRead: "Marcar como leído",
  noNotifications: "Aún no hay avisos.",
  approvalsTitle: "Aprobaciones",
  noApprovals: "Nada pendiente de aprobación.",
  approve: "Aprobar",
  reject: "Rechazar",
  rejectReason: "Motivo del rechazo",
  confirmReject: "Rechazar con este motivo",
  cancel: "Cancelar",
  approved: "Aprobado: {name}, {percent} %",
  rejected: "Rechazado: {name}",
  changedSinceOpened: "Esta elección cambió desde que la abrió. Revísela de nuevo.",
  electionOf: "{name}: {percent} % desde el {date}",
  reasonRequired: "Indique el motivo, para que el empleado sepa qué cambiar.",
  // ---- sponsor screens, offline (apps)
  navCompliance: "Cumplimiento",
  navExceptions: "Excepciones",
  selectedCount: "{count} seleccionadas",
  approveSelected: "Aprobar seleccionadas",
  rejectSelected: "Rechazar seleccionadas",
  bulkApproved: "Aprobadas: {count}.",
  bulkRejected: "Rechazadas: {count}.",
  complianceTitle: "Cumplimiento",
  noPlan: "Aún no hay plan.",
  statusOnTrack: "En regla",
  statusNarrow: "Cumple por un margen estrecho",
  statusAtRisk: "En riesgo de no cumplir",
  projectedYearEnd: "Proyectado al final de {year} con los aportes actuales.",
  exemptSafeHarbor: "safe harbor: se considera que cumple",
  hceVsLimit: "HCE {hce} % · otros {nhce} % · límite {limit} %",
  theFix: "La corrección",
  nothingToFix: "No hay nada que corregir.",
  fixRefunds: "Reembolsar el exceso de los HCE:",
  fixQnec: "O una contribución no electiva calificada (QNEC) para los demás:",
  hceCapTitle: "Aporte máximo que aún pueden elegir los HCE",
  hceCap: "{percent} % del salario por el resto del año.",
  hceCapNone: "Sin límite: el plan cumple con cualquier aporte.",
  hceCapZero: "Incluso 0 % no cumple: vea la corrección.",
  historyTitle: "Historial",
  noHistory: "Aún no hay historial: empieza con el primer pago.",
  historyChartLabel: "ADP proyectado de los HCE frente al límite, {count} puntos del {from} al {to}",
  legendHce: "ADP de los HCE",
  legendLimit: "Límite",
  exceptionsTitle: "Excepciones de nómina",
  noExceptions: "No hay excepciones de nómina por resolver.",
  exceptionMeta: "{code} · {date}",
  resolve: "Resolver",
  resolutionNote: "Nota (opcional)",
  acceptException: "Aceptar",
  rejectException: "Rechazar y devolver",
  exceptionAccepted: "Aceptada.",
  exceptionRejected: "Rechazada.",
  offlineBanner: "Está sin conexión. Se muestra la app guardada en este dispositivo; las cifras se actualizan al reconectarse.",
  // ---- end apps
};

export const LANGUAGES = { en: "English", es: "Español" } as const;
export type Language = keyof typeof LANGUAGES;
const TABLES: Record<Language, Messages> = { en, es };
const STORAGE_KEY = "plumb.language";

export function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "es") return saved;
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "en" || base === "es") return base;
  }
  return "en";
}

export function saveLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
}

/** The locale for numbers and dates: the browser's own when it is in this language (es-MX, en-GB), else US. */
export function localeFor(language: Language): string {
  const browser = navigator.language || "";
  return browser.toLowerCase().startsWith(language) ? browser : `${language}-US`;
}

export interface Translator {
  language: Language;
  locale: string;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
}

export function translator(language: Language): Translator {
  const table = TABLES[language];
  return {
    language,
    locale: localeFor(language),
    t: (key, vars) => table[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars?.[name] ?? `{${name}}`)),
  };
}

export const I18n = createContext<Translator>(translator("en"));
export const useI18n = () => useContext(I18n);
