import { describe, expect, it } from "vitest";
import { linkRoute } from "./push";

describe("a push's deep link opens the screen it names", () => {
  it("reads the JSON text a push carries and the object a feed entry carries alike", () => {
    expect(linkRoute('{"election_id": "el-1", "screen": "election"}')).toBe("/election/el-1");
    expect(linkRoute({ screen: "election", election_id: "el/2" })).toBe("/election/el%2F2");
    expect(linkRoute({ screen: "election" })).toBe("/plan");
    expect(linkRoute({ screen: "enroll" })).toBe("/rate");
    expect(linkRoute({ screen: "balance", pay_run_id: "pr-1" })).toBe("/balance");
    expect(linkRoute({ screen: "contributions" })).toBe("/balance");
  });

  it("falls back to the feed for a screen it does not know or a link it cannot read", () => {
    expect(linkRoute({ screen: "outbox", message_id: "m" })).toBe("/feed");
    expect(linkRoute("{not json")).toBe("/feed");
    expect(linkRoute(null)).toBe("/feed");
  });
});
