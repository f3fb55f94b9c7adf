/** A problem-details answer split for a form (messages by the field they name, and those naming no field here), and
 * its text in the reader's language. */
import type { ApiError, Problem } from "../api/client";
import type { MessageKey, Translator } from "../i18n";

export interface FormProblems {
  byField: Record<string, string[]>;
  general: string[];
}

export function formProblems(error: ApiError | null, fields: readonly string[]): FormProblems {
  const byField: Record<string, string[]> = {};
  const general: string[] = [];
  if (!error) return { byField, general };
  for (const { field = "", message = "" } of error.problem.errors ?? []) {
    // The API names nested fields by dotted path ("lines[0].percent"); the form's field is its first part.
    const name = fields.find((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`));
    if (name) (byField[name] ??= []).push(message);
    else general.push(field ? `${field}: ${message}` : message);
  }
  return { byField, general };
}

/*
 * The API's problems in the reader's language. A problem's `type` is its stable code (RFC 9457: a client acts on the
 * type, never on the title or detail text), so each common type has its own sentence here; the listed field messages
 * that users meet on the forms are marshmallow's standard ones (and the sign-up's and payroll's own), matched by their
 * fixed wording. English keeps the
 * API's own text (it is more specific); anything not known here is shown as the API wrote it.
 */
const TYPE_KEYS: Record<string, MessageKey> = {
  validation: "probValidation", "bad-request": "probBadRequest", unauthenticated: "probUnauthenticated",
  forbidden: "probForbidden", "not-found": "probNotFound", conflict: "probConflict",
  "precondition-failed": "probChanged", "precondition-required": "probChanged", "too-many-attempts": "probTooMany",
  "too-many-requests": "probTooMany", internal: "probInternal", "service-unavailable": "probInternal",
};

const FIELD_MESSAGES: [RegExp, MessageKey][] = [
  [/^Missing data for required field\.$/, "fmRequired"],
  [/^Field may not be null\.$/, "fmRequired"],
  [/^Not a valid (?:\w+(?: \w+)?)\.$/, "fmInvalid"],
  [/^Unknown field\.$/, "fmUnknown"],
  [/^Longer than maximum length (?<max>\d+)\.$/, "fmTooLong"],
  [/^Shorter than minimum length (?<min>\d+)\.$/, "fmTooShort"],
  [/^Length must be between (?<min>\d+) and (?<max>\d+)\.$/, "fmLength"],
  [/^Must be greater than or equal to (?<min>[\d.-]+) and less than or equal to (?<max>[\d.-]+)\.$/, "fmBetween"],
  [/^Must be greater than or equal to (?<min>[\d.-]+)\.$/, "fmAtLeast"],
  [/^Must be less than or equal to (?<max>[\d.-]+)\.$/, "fmAtMost"],
  [/^Must be one of: (?<choices>.+)\.$/, "fmOneOf"],
  [/^String does not match expected pattern\.$/, "fmInvalid"],
  [/^must be (?<count>\d+) digits$/, "fmDigits"],
  [/^add up to more than gross pay$/, "fmOverGross"],
  // The enrollment rules' own (backend/enrollment/choices.py, elections.py, approvals.py).
  [/^is required to reject an election$/, "fmReasonRequired"],
  [/^percents must add up to exactly 100$/, "fmSum100"],
  [/^primary beneficiaries' shares must add up to 100$/, "fmPrimary100"],
  [/^contingent beneficiaries' shares must add up to 100 \(or name none\)$/, "fmContingent100"],
  [/^must be above 0$/, "fmAboveZero"],
  [/^must be above 0 with at most two decimals$/, "fmAboveZeroCents"],
  [/^is not a fund on this plan's menu$/, "fmNotAFund"],
  [/^appears twice$/, "fmTwice"],
  [/^percents add up to more than 100% of pay$/, "fmOver100"],
  [/^ask more than your pay per paycheck \((?<amount>.+) on the census\)$/, "fmOverPaycheck"],
  [/^this plan does not allow Roth deferrals$/, "fmNoRoth"],
  [/^this plan does not allow catch-up contributions$/, "fmNoCatchUp"],
  [/^must not be blank$/, "fmRequired"],
  [/^must be true: the document is signed as an electronic record \(E-SIGN Act, 15 U\.S\.C\. 7001\(c\)\)$/, "fmConsent"],
  [/^catch-up contributions start the year you turn (?<age>\d+) \(IRC 414\(v\)\(5\)\)$/, "fmCatchUpAge"],
];

/** The problem's headline for an error box: its type's sentence, or the API's detail. */
export function problemSummary(problem: Problem, i18n: Translator): string {
  const api = problem.detail || problem.title || "";
  if (i18n.language === "en" && api) return api;
  const slug = (problem.type ?? "").split("/").pop() ?? "";
  const key = TYPE_KEYS[slug];
  return key ? i18n.t(key) : api;
}

/** One listed problem (a message, or "field: message") in the reader's language where its wording is known. */
export function localMessage(text: string, i18n: Translator): string {
  if (i18n.language === "en") return text;
  const split = /^(?<field>[\w.[\]-]+): (?<message>.*)$/.exec(text)?.groups;
  const message = split?.message ?? text;
  for (const [pattern, key] of FIELD_MESSAGES) {
    const match = pattern.exec(message);
    if (match) return `${split ? `${split.field}: ` : ""}${i18n.t(key, match.groups)}`;
  }
  return text;
}

/** The problems the API listed for one field, in the reader's language, as the one line shown beneath it. Every
 * screen's field errors go through here (or through `FieldError`, which calls it). */
export function fieldErrorText(messages: readonly string[] | undefined, i18n: Translator): string {
  return (messages ?? []).map((message) => localMessage(message, i18n)).join(" ");
}
