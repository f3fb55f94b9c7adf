/** A problem-details answer split for a form: messages by the field they name, and those naming no field here. */
import type { ApiError } from "../api/client";

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
