/** An amount of integer cents, formatted for the reader's locale (money.ts). */
import { formatCents, type Cents, type MoneyOptions } from "../money";
import { useI18n } from "../i18n";

export function Money({ cents, ...options }: { cents: Cents } & MoneyOptions) {
  const { locale } = useI18n();
  return <span class="money">{formatCents(cents, locale, options)}</span>;
}
