/** The balance history as an SVG path: integer cents mapped onto a fixed grid of whole SVG units. Pixel positions
 * are whole SVG units; the amounts are scaled with BigInt, never in floating point. */
export interface Point { date: string; value_cents: number; contributed_cents: number }

export const WIDTH = 320;
export const HEIGHT = 140;

/** "M x y L x y …" for each series: dates evenly spaced, 0 at the bottom, the highest value at the top. */
export function paths(points: Point[]): { value: string; contributed: string; top: number } {
  const top = Math.max(1, ...points.map((p) => Math.max(p.value_cents, p.contributed_cents)));
  const x = (index: number) => (points.length < 2 ? WIDTH / 2 : Math.round((index * WIDTH) / (points.length - 1)));
  // Scaled in BigInt, rounding halves up: a cent amount never passes through a floating-point product.
  const y = (cents: number) => HEIGHT - Number((BigInt(cents) * BigInt(2 * HEIGHT) + BigInt(top)) / BigInt(2 * top));
  const line = (pick: (p: Point) => number) =>
    points.map((p, i) => `${i === 0 ? "M" : "L"}${x(i)} ${y(pick(p))}`).join(" ");
  return { value: line((p) => p.value_cents), contributed: line((p) => p.contributed_cents), top };
}
