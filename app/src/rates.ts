/** Reading an election's rate for display: the sum of its percent-of-pay lines, as the decimal string the API uses. */
import type { Schemas } from "./api/client";

type Election = Schemas["ElectionOut"];

/** "6" + "2" → "8", "6.5" + "1" → "7.5": decimal strings added in tenths of a percent as integers, no floats. */
export function totalPercent(election: Election | null | undefined): string | null {
  if (!election?.lines?.length) return null;
  let thousandths = 0n;
  for (const line of election.lines) {
    if (line.percent == null) continue;
    const [whole, fraction = ""] = String(line.percent).split(".");
    thousandths += BigInt(whole) * 1000n + BigInt((fraction + "000").slice(0, 3));
  }
  const whole = thousandths / 1000n;
  const rest = (thousandths % 1000n).toString().padStart(3, "0").replace(/0+$/, "");
  return rest ? `${whole}.${rest}` : `${whole}`;
}

/** The election that says what the participant will pay in: a pending change first, then the scheduled one. */
export function currentElection(me: Schemas["MeOut"]): Election | null {
  return (me.election_pending ?? me.election_scheduled ?? me.election_in_effect ?? null) as Election | null;
}
