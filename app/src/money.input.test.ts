import { describe, expect, it } from "vitest";
import { parseCents } from "./money";

describe("an amount typed in a form becomes integer cents without floating point", () => {
  it("reads dollars and cents with the locale's decimal and grouping signs", () => {
    expect(parseCents("166.15", "en-US")).toBe(16615n);
    expect(parseCents("$1,234.5", "en-US")).toBe(123450n);
    expect(parseCents("12", "en-US")).toBe(1200n);
    expect(parseCents("0.07", "en-US")).toBe(7n);
    expect(parseCents("1.234,50 US$", "es-ES")).toBe(123450n);
    expect(parseCents("166,15", "es-ES")).toBe(16615n);
  });

  it("keeps an amount a double cannot hold exactly", () => {
    expect(parseCents("90071992547409.93", "en-US")).toBe(9007199254740993n);
  });

  it("refuses what is not an amount rather than guessing", () => {
    for (const text of ["", "12.345", "-5", "1e3", "abc", "1,23.00", "12.", ".5"]) {
      expect(parseCents(text, "en-US")).toBeNull();
    }
    expect(parseCents("12.50", "es-ES")).toBeNull(); // in Spanish "." groups thousands: 12.50 is no amount
  });
});
