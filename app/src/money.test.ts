import { describe, expect, it } from "vitest";
import { formatCents } from "./money";

describe("money is formatted from integer cents without floating point", () => {
  it("groups dollars and writes the cents exactly in US English", () => {
    expect(formatCents(123456789, "en-US")).toBe("$1,234,567.89");
    expect(formatCents(5, "en-US")).toBe("$0.05");
    expect(formatCents(0, "en-US")).toBe("$0.00");
    expect(formatCents(100, "en-US")).toBe("$1.00");
  });

  it("keeps the minus sign of an amount under a dollar", () => {
    expect(formatCents(-5, "en-US")).toBe("-$0.05");
    expect(formatCents(-123456, "en-US")).toBe("-$1,234.56");
  });

  it("shows a gain with its sign when asked, and zero without one", () => {
    expect(formatCents(1999, "en-US", { signed: true })).toBe("+$19.99");
    expect(formatCents(-1999, "en-US", { signed: true })).toBe("-$19.99");
    expect(formatCents(0, "en-US", { signed: true })).toBe("$0.00");
  });

  it("is exact beyond what a double can hold", () => {
    // 2^53 + 1 cents: a float would print ...992 instead of ...993.
    expect(formatCents(9007199254740993n, "en-US")).toBe("$90,071,992,547,409.93");
    expect(formatCents("9007199254740993", "en-US")).toBe("$90,071,992,547,409.93");
  });

  it("follows the locale's separators and currency placement in Spanish", () => {
    expect(formatCents(123456789, "es-ES")).toBe("1.234.567,89\u00a0US$");
    expect(formatCents(123450, "es-ES")).toBe("1234,50\u00a0US$"); // Spanish groups from five digits
    expect(formatCents(123456789, "es-US")).toBe("$1,234,567.89");
  });

  it("drops .00 from whole-dollar headline figures only", () => {
    expect(formatCents(150000, "en-US", { wholeDollars: true })).toBe("$1,500");
    expect(formatCents(150050, "en-US", { wholeDollars: true })).toBe("$1,500.50");
  });

  it("refuses a fraction of a cent rather than rounding it", () => {
    expect(() => formatCents(1.5, "en-US")).toThrow(RangeError);
    expect(() => formatCents("12.5", "en-US")).toThrow(RangeError);
  });
});
