import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import type { Schemas } from "../../api/client";
import { Stage } from "./Stage";

const host = () => document.body.appendChild(document.createElement("div"));
afterEach(() => { document.body.innerHTML = ""; });
const shown = (payroll: Schemas["PayrollStageOut"], extra: Partial<Schemas["ElectionOut"]> = {}) => {
  const root = host();
  render(<Stage election={{ payroll, ...extra }} />, root);
  return root;
};

describe("a change's way to payroll", () => {
  it("marks the step it has reached, and every step before it done", () => {
    const cases: [string, string][] = [["requested", "Waiting for approval"], ["approved", "Approved by your employer"],
      ["sent", "Sent to payroll"], ["confirmed", "Confirmed by payroll"], ["observed", "On your pay statement"]];
    for (const [stage, text] of cases) {
      const root = shown({ stage, detail: null });
      expect(root.querySelector("[aria-current=step]")!.textContent!.replace("✓", "").trim()).toBe(text);
      document.body.innerHTML = "";
    }
    const root = shown({ stage: "confirmed", detail: "payroll acknowledged the change" });
    expect(root.querySelectorAll("li.done").length).toBe(3);
  });

  it("says why it stopped: payroll's error, or the employer's reason", () => {
    expect(shown({ stage: "failed", detail: "HTTP 500 from payroll" }).textContent)
      .toBe("Payroll could not apply it: HTTP 500 from payroll");
    document.body.innerHTML = "";
    expect(shown({ stage: "rejected", detail: "over the plan maximum" }).textContent)
      .toBe("Your employer rejected it: over the plan maximum");
  });
});
