import { describe, expect, it } from "vitest";
import { HEIGHT, paths, WIDTH } from "./chart";

describe("the balance chart", () => {
  it("spreads the days across the width and puts the highest amount at the top", () => {
    const drawn = paths([
      { date: "2026-01-02", value_cents: 0, contributed_cents: 0 },
      { date: "2026-01-16", value_cents: 50_000, contributed_cents: 40_000 },
      { date: "2026-01-30", value_cents: 100_000, contributed_cents: 80_000 },
    ]);
    expect(drawn.value).toBe(`M0 ${HEIGHT} L${WIDTH / 2} ${HEIGHT / 2} L${WIDTH} 0`);
    expect(drawn.contributed).toBe(`M0 ${HEIGHT} L${WIDTH / 2} 84 L${WIDTH} 28`);
    expect(drawn.top).toBe(100_000);
  });

  it("draws one day in the middle and nothing for no days", () => {
    expect(paths([{ date: "2026-01-02", value_cents: 500, contributed_cents: 500 }]).value).toBe(`M${WIDTH / 2} 0`);
    expect(paths([]).value).toBe("");
  });
});
