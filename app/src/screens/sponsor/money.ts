/** The compliance endpoints give amounts as dollar strings ("1234.56"); the screens show money from integer cents,
 * so the string's digits become cents as text, never through a floating-point number. */
export function dollarsToCents(dollars: string | null | undefined): string {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec((dollars ?? "0").trim());
  if (!match) return "0";
  const [, sign, whole, fraction = ""] = match;
  const cents = `${whole}${fraction.padEnd(2, "0")}`.replace(/^0+(?=\d)/, "");
  return cents === "0" ? "0" : `${sign}${cents}`;
}
