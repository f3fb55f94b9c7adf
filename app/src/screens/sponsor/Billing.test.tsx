import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import type { Schemas } from "../../api/client";
import { BillingView, monthlyCents } from "./Billing";

afterEach(() => { document.body.innerHTML = ""; });
const shown = (billing: Schemas["BillingOut"]) => {
  const root = document.body.appendChild(document.createElement("div"));
  render(<BillingView billing={billing} />, root);
  return root;
};
const live = { configured: true, base_fee_cents: 5000, participant_cents: 400, quantity: 10, went_live_on: "2026-06-01",
  payment_failed_on: null, past_due_on: null, invoices: [] };

describe("the sponsor's billing", () => {
  it("works out the month from integer cents: a $50.00 base fee and ten participants at $4.00 are $90.00", () => {
    expect(monthlyCents(live)).toBe(9000n);
    // Cents past what a float holds exactly stay exact.
    expect(monthlyCents({ base_fee_cents: 9007199254740991, participant_cents: 1, quantity: 2 }))
      .toBe(9007199254740993n);
  });

  it("says past due and what it means, the quantity billed, and a failed invoice's amount", () => {
    const root = shown({ ...live, status: "past_due", invoices: [{ id: "in_1", amount_due_cents: 9000,
      amount_paid_cents: 0, status: "payment_failed", created_on: "2026-06-15" }] });
    expect(root.querySelector("h2")!.textContent).toBe("Past due");
    expect(root.textContent).toContain("Your employees' money and their app are not affected.");
    expect(root.querySelector("[data-testid=billing-quantity]")!.textContent).toBe("10");
    expect(root.querySelector("[data-testid=billing-monthly]")!.textContent).toBe("$90.00");
    expect(root.querySelector("[data-testid=invoices]")!.textContent).toContain("$90.00");
    expect(root.querySelector("[data-testid=invoices]")!.textContent).toContain("Payment failed");
  });

  it("warns of the grace period while a failed payment is not yet past due", () => {
    const root = shown({ ...live, status: "active", payment_failed_on: "2026-06-15", past_due_on: "2026-06-29" });
    expect(root.querySelector("[data-testid=billing-grace]")!.textContent).toContain("past due on June 29, 2026");
  });

  it("says plainly when the server bills no one, with no subscription and no invoices", () => {
    const root = shown({ configured: false, status: "off", quantity: 0, base_fee_cents: null, invoices: [] });
    expect(root.textContent).toContain("This Plumb server does not bill through Stripe, so nothing is billed.");
    expect(root.querySelector("[data-testid=billing-subscription]")).toBeNull();
    expect(root.textContent).toContain("No invoices yet.");
  });
});
