import { describe, expect, it } from "vitest";
import { dollarsToCents } from "./money";

describe("a dollar amount from the compliance endpoints becomes integer cents without floating point", () => {
  it("reads whole dollars, one and two decimals, and a minus sign", () => {
    expect(dollarsToCents("1234.56")).toBe("123456");
    expect(dollarsToCents("12.5")).toBe("1250");
    expect(dollarsToCents("7")).toBe("700");
    expect(dollarsToCents("-0.05")).toBe("-5");
    expect(dollarsToCents("0.00")).toBe("0");
  });

  it("keeps amounts beyond a double's exact integers exact", () => {
    expect(dollarsToCents("90071992547409.93")).toBe("9007199254740993");
  });
});
