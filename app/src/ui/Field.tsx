/**
 * A labelled input with the problems the API listed for its field shown beneath it (announced, and tied to the
 * input by aria-describedby, in the reader's language where their wording is known), so an error appears where it
 * can be fixed.
 */
import { useI18n } from "../i18n";
import { fieldErrorText } from "./problems";

export interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (event: { currentTarget: HTMLInputElement }) => void;
  errors?: string[];
  hint?: string;
  type?: "text" | "email" | "password" | "date";
  autocomplete?: string;
  inputMode?: "numeric" | "decimal" | "text" | "email";
  maxLength?: number;
  pattern?: string;
  required?: boolean;
}

export function Field({ id, label, errors = [], hint, type = "text", ...input }: FieldProps) {
  const described = [hint ? `${id}-hint` : "", errors.length ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <input
        id={id}
        name={id}
        // Preact 11 types each input type's attributes separately; a type chosen at run time needs this cast.
        type={type as "text"}
        aria-invalid={errors.length ? "true" : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
      <FieldError id={`${id}-error`} messages={errors} />
    </div>
  );
}

/** The problems the API listed for a field (or a group of fields), beneath it in the reader's language: the one
 * way every screen shows them. Nothing when there are none; `id` is what the control's aria-describedby names. */
export function FieldError({ id, messages, prefix = "" }: { id?: string; messages?: readonly string[]; prefix?: string }) {
  const i18n = useI18n();
  if (!messages?.length) return null;
  return <p class="field-error" id={id} role="alert">{prefix}{fieldErrorText(messages, i18n)}</p>;
}
