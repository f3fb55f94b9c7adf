import { describe, expect, it } from "vitest";
import { reasonsOf } from "./Book";

describe("a plan's reasons for attention, as the book's badges show them", () => {
  it("lists every reason that applies, in the book's order, not only the first the API names", () => {
    expect(reasonsOf({ compliance_status: "at_risk", pending_approvals: 2, open_exceptions: 0, agreement_signed: false,
      billing_status: "past_due" })).toEqual(["at_risk", "approvals", "unsigned_documents", "past_due_billing"]);
  });

  it("gives none for a plan on track, signed, paid up and with nothing waiting", () => {
    expect(reasonsOf({ compliance_status: "on_track", pending_approvals: 0, open_exceptions: 0, agreement_signed: true,
      billing_status: "active" })).toEqual([]);
  });
});
