/**
 * The enroll screen's choice as election lines: a rate of pay in whole percents, the part of it saved as Roth, and
 * a catch-up rate on top. Whole percents as integers: nothing here is computed in floating point.
 */
import type { Schemas } from "../../api/client";

type Election = Schemas["ElectionOut"];
export type LineIn = Schemas["ElectionLineIn"];

export interface Split {
  /** Percent of pay, pre-tax and Roth together (the 402(g) deferral). */
  rate: number;
  /** Of `rate`, the percent saved as Roth (after tax; IRC §402A). */
  roth: number;
  /** Catch-up on top of the rate, for those 50 or older by year-end (IRC §414(v)). */
  catchUp: number;
  catchUpRoth: boolean;
}

/** "6.5" → 6: the control moves in whole percents, so a fractional rate starts it at the percent below. */
const whole = (percent: string | number | null | undefined): number =>
  percent == null ? 0 : Number.parseInt(String(percent), 10) || 0;

/** The split an election holds (none: nothing saved yet). Flat-amount lines are not shown by this control. */
export function splitOf(election: Election | null | undefined): Split {
  const split: Split = { rate: 0, roth: 0, catchUp: 0, catchUpRoth: false };
  for (const line of election?.lines ?? []) {
    const percent = whole(line.percent);
    if (line.money_type === "pretax") split.rate += percent;
    else if (line.money_type === "roth") { split.rate += percent; split.roth += percent; }
    else if (line.money_type === "pretax_catchup") split.catchUp += percent;
    else if (line.money_type === "roth_catchup") { split.catchUp += percent; split.catchUpRoth = true; }
  }
  return split;
}

/** A new rate that keeps the Roth share: 4% pre-tax + 2% Roth moved to 9% is 6% + 3% (halves rounded up). */
export function withRate(split: Split, rate: number): Split {
  if (split.rate === 0 || split.roth === 0) return { ...split, rate, roth: 0 };
  const roth = Math.floor((2 * rate * split.roth + split.rate) / (2 * split.rate));
  return { ...split, rate, roth: Math.min(roth, rate) };
}

/** The lines to preview or save: zero lines are left out; 0% altogether is one pre-tax line at 0 (stop saving). */
export function electionLines(split: Split): LineIn[] {
  const lines: LineIn[] = [];
  if (split.rate - split.roth > 0) lines.push({ money_type: "pretax", percent: String(split.rate - split.roth) });
  if (split.roth > 0) lines.push({ money_type: "roth", percent: String(split.roth) });
  if (split.catchUp > 0) {
    lines.push({ money_type: split.catchUpRoth ? "roth_catchup" : "pretax_catchup", percent: String(split.catchUp) });
  }
  return lines.length ? lines : [{ money_type: "pretax", percent: "0" }];
}
