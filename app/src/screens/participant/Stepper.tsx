/** A whole-percent control with − and + buttons (big enough for a thumb) around a labelled number input. */
import { useI18n } from "../../i18n";
import { FieldError } from "../../ui/Field";

export interface StepperProps {
  id: string;
  label: string;
  hint?: string;
  value: number;
  min: number;
  max: number;
  onChange: (value: number) => void;
  errors?: string[];
}

export function Stepper({ id, label, hint, value, min, max, onChange, errors = [] }: StepperProps) {
  const { t } = useI18n();
  const set = (next: number) => onChange(Math.max(min, Math.min(max, Number.isFinite(next) ? next : min)));
  const described = [hint ? `${id}-hint` : "", errors.length ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      <div class="stepper">
        <button type="button" class="round small" aria-label={t("pLess", { label })} disabled={value <= min}
          onClick={() => set(value - 1)}>−</button>
        <input id={id} type="number" inputMode="numeric" min={min} max={max} step={1} value={value}
          aria-describedby={described || undefined} aria-invalid={errors.length ? "true" : undefined}
          onInput={(e) => set(Number.parseInt(e.currentTarget.value, 10))} />
        <span aria-hidden="true">%</span>
        <button type="button" class="round small" aria-label={t("pMore", { label })} disabled={value >= max}
          onClick={() => set(value + 1)}>+</button>
      </div>
      <FieldError id={`${id}-error`} messages={errors} />
    </div>
  );
}
