import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";

// openapi-fetch takes the global fetch when the client is made, so the stand-in is in place before any import.
const requests = vi.hoisted(() => {
  const sent: { url: string; body: unknown }[] = [];
  globalThis.fetch = (async (input: Request) => {
    sent.push({ url: input.url, body: await input.clone().json().catch(() => null) });
    return new Response(JSON.stringify({ type: "about:blank", title: "Validation failed", status: 422,
      detail: "Nothing was stored.", errors: [{ field: "title", message: "Length must be between 1 and 200." },
        { field: "consent_to_electronic_records", message: "must be true" }] }),
    { status: 422, headers: { "Content-Type": "application/problem+json" } });
  }) as typeof fetch;
  return sent;
});

import type { Schemas } from "../../api/client";
import { DocumentCard, SignForm, statusOf } from "./Documents";

afterEach(() => { document.body.innerHTML = ""; });
const agreement: Schemas["DocumentOut"] = { id: "doc_1", kind: "adoption_agreement", language: "en", version: 1,
  status: "current", signable: true, signature: null };

describe("a plan document's status", () => {
  it("is awaiting signature, signed, superseded; a summary is a draft until the agreement is signed", () => {
    expect(statusOf(agreement, false)).toBe("docAwaiting");
    expect(statusOf({ ...agreement, signable: false, signature: { typed_name: "Pat" } }, true)).toBe("docSigned");
    expect(statusOf({ ...agreement, status: "superseded", signable: false }, true)).toBe("docSuperseded");
    const summary = { ...agreement, kind: "summary_plan_description", signable: false };
    expect(statusOf(summary, false)).toBe("docDraft");
    expect(statusOf(summary, true)).toBe("docInEffect");
  });
});

describe("signing the adoption agreement", () => {
  it("sends the typed name, title and consent as entered, and shows each problem beside its field", async () => {
    const root = document.body.appendChild(document.createElement("div"));
    render(<SignForm document={agreement} onSigned={() => { throw new Error("not signed"); }} />, root);
    const name = root.querySelector<HTMLInputElement>("#typed_name")!;
    name.value = "Pat Sponsor";
    name.dispatchEvent(new Event("input", { bubbles: true }));
    await new Promise((settled) => setTimeout(settled, 0)); // the form re-renders with the name typed
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    await vi.waitFor(() => expect(root.querySelector("#title-error")).not.toBeNull());
    expect(requests.at(-1)).toEqual({ url: expect.stringMatching(/\/v1\/documents\/doc_1\/signature$/),
      body: { typed_name: "Pat Sponsor", title: "", consent_to_electronic_records: false } });
    expect(root.querySelector("#title-error")!.textContent).toBe("Length must be between 1 and 200.");
    expect(root.querySelector("#title")!.getAttribute("aria-invalid")).toBe("true");
    expect(root.querySelector("#consent-error")!.textContent).toBe("must be true");
    expect(root.querySelector("#consent")!.getAttribute("aria-describedby")).toBe("consent-error");
    expect(root.querySelector("#typed_name")!.hasAttribute("aria-invalid")).toBe(false);
  });
});

describe("a past version", () => {
  it("shows it was superseded, its hash, and an amendment's changed provisions with their effective date", () => {
    const root = document.body.appendChild(document.createElement("div"));
    render(<DocumentCard agreementSigned document={{ ...agreement, version: 2, status: "superseded", signable: false,
      sha256: "ab".repeat(32), effective_on: "2027-01-01",
      amendment: { effective_on: "2027-01-01", changes: ["match_tiers", "vesting"] } }} />, root);
    expect(root.querySelector("[data-testid=doc-status]")!.textContent).toBe("Superseded");
    expect(root.textContent).toContain("ab".repeat(32));
    const amendment = root.querySelector("[data-testid=amendment]")!;
    expect(amendment.textContent).toContain("Amendment effective January 1, 2027");
    expect([...amendment.querySelectorAll("li")].map((li) => li.textContent)).toEqual(["Employer match formula", "Vesting"]);
    expect(root.querySelector("form")).toBeNull(); // nothing to sign
  });
});
