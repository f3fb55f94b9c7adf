/**
 * Money on screen: the API's integer cents formatted for the reader's locale, never through a floating-point
 * number. Cents are split into whole dollars and cents with BigInt; Intl formats the dollars (grouping, currency
 * sign, minus sign and their order for the locale) and the cents are written into its fraction part as digits.
 */

export type Cents = number | bigint | string;

function toBigInt(cents: Cents): bigint {
  if (typeof cents === "bigint") return cents;
  if (typeof cents === "number") {
    // The API's cents are integers; a fraction here is a bug upstream, not something to round away.
    if (!Number.isSafeInteger(cents)) throw new RangeError(`not a whole number of cents: ${cents}`);
    return BigInt(cents);
  }
  if (!/^-?\d+$/.test(cents)) throw new RangeError(`not a whole number of cents: ${cents}`);
  return BigInt(cents);
}

export interface MoneyOptions {
  /** ISO 4217 code; the API's money is in US dollars. */
  currency?: string;
  /** Show "+" before a positive amount (gains). */
  signed?: boolean;
  /** Drop ".00" from whole-dollar amounts (headline figures). */
  wholeDollars?: boolean;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(locale: string, currency: string, signed: boolean): Intl.NumberFormat {
  const key = `${locale}|${currency}|${signed}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
      signDisplay: signed ? "exceptZero" : "auto",
    });
    formatters.set(key, found);
  }
  return found;
}

/** `formatCents(123456789, "en-US")` → "$1,234,567.89"; `formatCents(-5, "es-ES")` → "-0,05 US$". */
export function formatCents(cents: Cents, locale: string, options: MoneyOptions = {}): string {
  const value = toBigInt(cents);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const dollars = magnitude / 100n;
  const fraction = (magnitude % 100n).toString().padStart(2, "0");
  // Intl places the sign and currency; a zero-dollar amount is formatted as one dollar so that the sign of
  // "-$0.05" survives (BigInt has no negative zero), and its integer digits are then written back as "0".
  const shown = dollars === 0n ? 1n : dollars;
  const sign = negative ? -1n : value === 0n ? 0n : 1n;
  const parts = formatter(locale, options.currency ?? "USD", !!options.signed).formatToParts(
    sign === 0n ? 0n : sign * shown,
  );
  let integerWritten = false;
  let out = "";
  for (const part of parts) {
    if (part.type === "integer") {
      if (dollars === 0n) {
        if (!integerWritten) out += "0";
        integerWritten = true;
        continue;
      }
      out += part.value;
    } else if (part.type === "group" && dollars === 0n) {
      continue;
    } else if ((part.type === "fraction" || part.type === "decimal") && options.wholeDollars && fraction === "00") {
      continue;
    } else if (part.type === "fraction") {
      out += fraction;
    } else {
      out += part.value;
    }
  }
  return out;
}

/**
 * An amount typed into a form, read as integer cents without floating point: `parseCents("1,234.5", "en-US")` →
 * 123450n, `parseCents("1.234,50", "es-ES")` → 123450n. The locale's decimal sign is the separator of cents; its
 * grouping sign may appear between digits; a currency sign and spaces are ignored. Null for anything else (more
 * than two decimals, a minus sign, letters): an amount is never guessed at.
 */
export function parseCents(text: string, locale: string): bigint | null {
  const decimal = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
  const group = decimal === "," ? "." : ",";
  const bare = text.replace(/[\s\u00a0$]|US\$|USD/g, "");
  const escaped = (sign: string) => sign.replace(/[.]/, "\\.");
  const pattern = new RegExp(`^(\\d{1,3}(?:${escaped(group)}\\d{3})+|\\d+)(?:${escaped(decimal)}(\\d{1,2}))?$`);
  const match = pattern.exec(bare);
  if (!match) return null;
  const [, whole, fraction = ""] = match;
  return BigInt(whole.split(group).join("")) * 100n + BigInt(fraction.padEnd(2, "0"));
}
