/**
 * Pieces shared by the oversight screens (the sponsor's people and dashboard, the advisor's book): the plan a
 * sponsor looks at, decimal strings shown for the locale without passing through floating point, the monthly
 * contributions as bars scaled with BigInt, a CSV fetched with the token, and whether the window is desktop wide.
 */
import { useEffect, useState } from "preact/hooks";
import { api, call } from "../../api/client";
import { session } from "../../session";
import { saveBlob } from "../../ui/download";

/** The first plan of the sponsor's employer (null when it has none), as the other sponsor screens choose it. */
export async function sponsorPlanId(): Promise<string | null> {
  const employerId = session.current()?.user?.employer_id;
  if (!employerId) return null;
  const employer = await call(api.GET("/v1/employers/{employer_id}", { params: { path: { employer_id: employerId } } }));
  return employer.plans?.[0]?.id ?? null;
}

/** A decimal string from the API ("6.5", "-0.25", "5.00") with the locale's decimal separator and without trailing
 * zeros after the point ("5"); the value is never rounded. */
export function localDecimal(value: string | number, locale: string): string {
  const separator = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
  // Marshmallow sends decimals as strings; the type allows a number, written back exactly as it came.
  const text = String(value).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  return text.replace(".", separator);
}

/** A fraction as a percent, moving the decimal point two places in the string: "0.7500" → "75", "0.0125" → "1.25",
 * "1" → "100". Trailing zeros go; the digits are never rounded. */
export function fractionToPercent(fraction: string): string {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(fraction.trim());
  if (!match) return fraction;
  const [, sign, whole, decimals = ""] = match;
  const padded = decimals.padEnd(2, "0");
  const integer = `${whole}${padded.slice(0, 2)}`.replace(/^0+(?=\d)/, "");
  const rest = padded.slice(2).replace(/0+$/, "");
  return `${sign}${integer}${rest ? `.${rest}` : ""}`;
}

export interface Bar { label: string; x: number; y: number; width: number; height: number; cents: number }

/** One bar a month in a `width` × `height` box: the largest total reaches the top, heights are whole units scaled
 * from integer cents with BigInt (halves rounded up), a month with nothing has no height, negatives count as 0. */
export function monthBars(months: { month: string; total_cents: number }[], width: number, height: number): Bar[] {
  if (months.length === 0) return [];
  const top = months.reduce((most, m) => (BigInt(m.total_cents) > most ? BigInt(m.total_cents) : most), 1n);
  const slot = Math.floor(width / months.length);
  const gap = Math.max(1, Math.floor(slot / 5));
  return months.map((m, index) => {
    const cents = BigInt(Math.max(0, m.total_cents));
    const tall = Number((cents * BigInt(2 * height) + top) / (2n * top));
    return { label: m.month, x: index * slot + Math.floor(gap / 2), y: height - tall, width: slot - gap, height: tall,
      cents: m.total_cents };
  });
}

/** Fetch a CSV export with the user's token (the API wants it in a header) and hand it to the browser. */
export async function downloadCsv(pending: Promise<{ data?: unknown; error?: unknown; response: Response }>,
  filename: string): Promise<void> {
  const blob = (await call(pending)) as Blob;
  saveBlob(blob, filename);
}

const WIDE = "(min-width: 900px)";

/** True at desktop width (a table layout), false on a phone (cards); follows the window as it is resized. */
export function useWide(): boolean {
  const query = typeof matchMedia === "function" ? matchMedia(WIDE) : null;
  const [wide, setWide] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const change = () => setWide(query.matches);
    query.addEventListener("change", change);
    return () => query.removeEventListener("change", change);
  }, []);
  return wide;
}
