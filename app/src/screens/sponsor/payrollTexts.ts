/**
 * Payroll's texts in the reader's language: an exception's finding, and why a message to payroll failed.
 *
 * A payroll exception's finding: The API writes its message in English and gives the finding
 * a stable `code` with the message's figures in `details` (backend/payroll/findings.py; the ExceptionOut schema lists
 * them), so each known code has its own sentence here, built from the details; English keeps the API's own message,
 * and a code not known here (or details missing a figure) is shown as the API wrote it.
 */
import type { Schemas } from "../../api/client";
import { hasMessage, type MessageKey, type Translator } from "../../i18n";
import { formatCents } from "../../money";

type Exception = Schemas["ExceptionOut"];
type Details = Record<string, unknown>;

// Cents are whole numbers from the API; the differences are taken in BigInt, as money.ts does.
const cents = (value: unknown) => (Number.isSafeInteger(value) ? BigInt(value as number) : null);
const isoDate = (value: unknown) => (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : null);

/** Each code's sentence and the figures it needs from the details (null: a figure is missing). */
const FINDINGS: Record<string, [MessageKey, (d: Details, i18n: Translator) => Record<string, string> | null]> = {
  not_eligible: ["fxNotEligible", (d, i18n) => {
    const deferred = cents(d.deferred_cents);
    if (deferred === null) return null;
    const entry = isoDate(d.entry_date);
    return { amount: formatCents(deferred, i18n.locale), entry: entry ? day(entry, i18n) : i18n.t("fxNotKnown") };
  }],
  opted_out: ["fxOptedOut", (d, i18n) => {
    const deferred = cents(d.deferred_cents), since = isoDate(d.opted_out_on);
    return deferred === null || !since ? null : { amount: formatCents(deferred, i18n.locale), since: day(since, i18n) };
  }],
  over_402g: ["fxOver402g", (d, i18n) => {
    const deferred = cents(d.deferred_cents), room = cents(d.room_cents);
    if (deferred === null || room === null || !Number.isSafeInteger(d.year)) return null;
    return { amount: formatCents(deferred, i18n.locale), year: String(d.year),
      over: formatCents(deferred - (room > 0n ? room : 0n), i18n.locale) };
  }],
  deferral_mismatch: ["fxMismatch", (d, i18n) => {
    const want = cents(d.expected_cents), got = cents(d.withheld_cents);
    const source = `pSource_${String(d.money_type)}`;
    if (want === null || got === null || typeof d.money_type !== "string") return null;
    const type = d.money_type === "after_tax" ? i18n.t("mtAfterTax") : hasMessage(source) ? i18n.t(source) : d.money_type;
    return { type, withheld: formatCents(got, i18n.locale), expected: formatCents(want, i18n.locale),
      difference: formatCents(got > want ? got - want : want - got, i18n.locale),
      how: i18n.t(got > want ? "fxOver" : "fxUnder"), consequence: got > want ? "" : ` ${i18n.t("fxMissedDeferral")}` };
  }],
  paid_after_termination: ["fxPaidAfterTermination", (d, i18n) => {
    const paid = isoDate(d.pay_date), ended = isoDate(d.termination_date);
    return !paid || !ended ? null : { paid: day(paid, i18n), ended: day(ended, i18n) };
  }],
  missing_hours: ["fxMissingHours", () => ({})],
  new_hire_added: ["fxNewHire", (d) => (typeof d.employee_name === "string" ? { name: d.employee_name } : null)],
};

function day(iso: string, i18n: Translator): string {
  return new Date(`${iso}T12:00:00`).toLocaleDateString(i18n.locale, { dateStyle: "medium" });
}

/** The exception's finding as the reader should read it. */
export function findingText(exception: Exception, i18n: Translator): string {
  const api = exception.message ?? "";
  const known = FINDINGS[exception.code ?? ""];
  if ((i18n.language === "en" && api) || !known) return api;
  const vars = known[1]((exception.details ?? {}) as Details, i18n);
  return vars ? i18n.t(known[0], vars) : api;
}

/*
 * Why a message to payroll failed. The API keeps it to a short classification from a fixed vocabulary (the
 * OutboxMessageOut schema: backend/payroll/outbound.py `failure_reason` and `status_failure`, and the adapters' own
 * setup problems), optionally after the provider's name ("Finch: timed out"); those are matched by their fixed
 * wording, like the field messages in ui/problems.ts, and anything else is shown as the API wrote it.
 */
const DELIVERY_REASONS: [RegExp, MessageKey][] = [
  [/^redirect not followed \(HTTP (?<status>\d{3}) from the payroll endpoint\)$/, "pmErrRedirect"],
  [/^HTTP (?<status>\d{3}) from the payroll endpoint$/, "pmErrHttp"],
  [/^address not allowed$/, "pmErrAddress"],
  [/^timed out$/, "pmErrTimeout"],
  [/^connection refused$/, "pmErrRefused"],
  [/^TLS failure$/, "pmErrTls"],
  [/^host name not resolved$/, "pmErrDns"],
  [/^connection closed by the payroll endpoint$/, "pmErrClosed"],
  [/^not an HTTP answer$/, "pmErrNotHttp"],
  [/^connection failed$/, "pmErrConnection"],
  [/^the connection has no endpoint URL$/, "pmErrNoEndpoint"],
  [/^the employer has no active payroll connection yet$/, "pmErrNoConnection"],
  [/^the employee has no external id to (?:give Finch as individual_id|find them in Gusto)$/, "pmErrNoExternalId"],
];

// Gusto's refusals also say which call was refused (backend/payroll/providers.py `_refusal`).
const DOING: [string, MessageKey][] = [[" reading the employee's benefits", "pmDoingRead"],
  [" writing the employee's benefit", "pmDoingWrite"]];

/** A dead letter's reason as the reader should read it. */
export function deliveryReason(text: string, i18n: Translator): string {
  if (i18n.language === "en") return text;
  const split = /^(?<provider>Finch|Gusto): (?<reason>.*)$/.exec(text)?.groups;
  let reason = split?.reason ?? text;
  const doing = DOING.find(([suffix]) => reason.endsWith(suffix));
  if (doing) reason = reason.slice(0, -doing[0].length);
  for (const [pattern, key] of DELIVERY_REASONS) {
    const match = pattern.exec(reason);
    if (!match) continue;
    const said = i18n.t(key, match.groups);
    const whole = doing ? `${said.replace(/\.$/, "")} (${i18n.t(doing[1])}).` : said;
    return `${split ? `${split.provider}: ` : ""}${whole}`;
  }
  return text;
}
