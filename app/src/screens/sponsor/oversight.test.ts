import { describe, expect, it } from "vitest";
import { fractionToPercent, localDecimal, monthBars } from "./oversight";

describe("the contributions-by-month bars", () => {
  it("scale each month's cents against the largest, which reaches the top, in whole units", () => {
    const bars = monthBars([{ month: "2026-01", total_cents: 50_000 }, { month: "2026-02", total_cents: 100_000 },
      { month: "2026-03", total_cents: 33_333 }], 300, 100);
    expect(bars.map((b) => b.height)).toEqual([50, 100, 33]);
    expect(bars.map((b) => b.y)).toEqual([50, 0, 67]);
    expect(bars.map((b) => b.x)).toEqual([10, 110, 210]);
    expect(bars[0].width).toBe(80);
  });

  it("round a half unit up and keep amounts past a float's exact range exact", () => {
    // 2^53 cents against 2^54 (beyond a float's exact integers once summed): half of 101 units is 50.5, shown as 51.
    const bars = monthBars([{ month: "a", total_cents: 2 ** 53 }, { month: "b", total_cents: 2 ** 53 * 2 }], 10, 101);
    expect(bars.map((b) => b.height)).toEqual([51, 101]);
  });

  it("draw nothing for no months and no height for an empty or negative month", () => {
    expect(monthBars([], 300, 100)).toEqual([]);
    expect(monthBars([{ month: "2026-01", total_cents: 0 }, { month: "2026-02", total_cents: -500 }], 300, 100)
      .map((b) => b.height)).toEqual([0, 0]);
  });
});

describe("rates as the API sends them, shown without floating point", () => {
  it("a participation fraction becomes a percent by moving the point: 0.7500 is 75, 0.0125 is 1.25", () => {
    expect(fractionToPercent("0.7500")).toBe("75");
    expect(fractionToPercent("0.0125")).toBe("1.25");
    expect(fractionToPercent("1")).toBe("100");
    expect(fractionToPercent("0.3333")).toBe("33.33");
    expect(fractionToPercent("0")).toBe("0");
  });

  it("a decimal takes the locale's separator and keeps its digits but for trailing zeros", () => {
    expect(localDecimal("6.5", "en-US")).toBe("6.5");
    expect(localDecimal("-0.25", "es-ES")).toBe("-0,25");
    expect(localDecimal("5.00", "en-US")).toBe("5");
    expect(localDecimal("6.50", "es-ES")).toBe("6,5");
    expect(localDecimal("100", "en-US")).toBe("100");
  });
});
