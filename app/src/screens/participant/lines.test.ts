import { describe, expect, it } from "vitest";
import type { Schemas } from "../../api/client";
import { electionLines, splitOf, withRate } from "./lines";

const election = (lines: Schemas["ElectionLineOut"][]) => ({ lines }) as Schemas["ElectionOut"];

describe("the enroll screen's split", () => {
  it("reads pre-tax, Roth and catch-up lines from an election", () => {
    expect(splitOf(election([{ money_type: "pretax", percent: "4" }, { money_type: "roth", percent: "2" },
      { money_type: "roth_catchup", percent: "1" }]))).toEqual({ rate: 6, roth: 2, catchUp: 1, catchUpRoth: true });
    expect(splitOf(null)).toEqual({ rate: 0, roth: 0, catchUp: 0, catchUpRoth: false });
  });

  it("keeps an existing split when only the rate changes: 4% + 2% Roth moved to 9% is 6% + 3%", () => {
    expect(withRate({ rate: 6, roth: 2, catchUp: 0, catchUpRoth: false }, 9).roth).toBe(3);
    // 7 × 2/6 = 2.33…: 2% Roth, 5% pre-tax.
    expect(withRate({ rate: 6, roth: 2, catchUp: 0, catchUpRoth: false }, 7).roth).toBe(2);
    // 3 × 1/2 = 1.5 rounds up to 2.
    expect(withRate({ rate: 2, roth: 1, catchUp: 0, catchUpRoth: false }, 3).roth).toBe(2);
    expect(withRate({ rate: 6, roth: 6, catchUp: 0, catchUpRoth: false }, 0).roth).toBe(0);
    expect(withRate({ rate: 0, roth: 0, catchUp: 0, catchUpRoth: false }, 5).roth).toBe(0);
  });

  it("sends only the lines that save something, and one 0% line to stop", () => {
    expect(electionLines({ rate: 6, roth: 2, catchUp: 3, catchUpRoth: false })).toEqual([
      { money_type: "pretax", percent: "4" }, { money_type: "roth", percent: "2" },
      { money_type: "pretax_catchup", percent: "3" }]);
    expect(electionLines({ rate: 5, roth: 5, catchUp: 0, catchUpRoth: false })).toEqual([
      { money_type: "roth", percent: "5" }]);
    expect(electionLines({ rate: 0, roth: 0, catchUp: 0, catchUpRoth: false })).toEqual([
      { money_type: "pretax", percent: "0" }]);
  });
});
