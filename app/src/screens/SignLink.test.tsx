import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";

// openapi-fetch takes the global fetch when the client is made, so the stand-in is in place before any import.
const server = vi.hoisted(() => {
  const state = { sent: [] as { method: string; url: string; auth: string | null; body: unknown }[], signOk: false,
    gone: false };
  const json = (body: unknown, status: number, type = "application/json") =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
  globalThis.fetch = (async (input: Request) => {
    state.sent.push({ method: input.method, url: input.url, auth: input.headers.get("Authorization"),
      body: await input.clone().json().catch(() => null) });
    if (state.gone) {
      return json({ type: "about:blank", title: "Not Found", status: 404, detail: "gone", errors: [] }, 404,
        "application/problem+json");
    }
    if (input.method === "GET") {
      return json({ title: "Adoption Agreement", kind: "adoption_agreement", plan: "Acme Bakery LLC 401(k) Plan",
        employer: "Acme Bakery LLC", version: 2, sha256: "ab".repeat(32), effective_on: "2027-01-01",
        changes: ["match_tiers"], addressed_to: "s***@example.com", expires_at: "2026-12-08T00:00:00Z" }, 200);
    }
    if (!state.signOk) {
      return json({ type: "about:blank", title: "Validation failed", status: 422, detail: "Nothing was stored.",
        errors: [{ field: "title", message: "Length must be between 1 and 200." },
          { field: "consent_to_electronic_records", message: "must be true" }] }, 422, "application/problem+json");
    }
    return json({ typed_name: "Pat Sponsor", title: "Owner", document_sha256: "ab".repeat(32) }, 201);
  }) as typeof fetch;
  return state;
});

import { SignLink } from "./SignLink";

afterEach(() => {
  document.body.innerHTML = "";
  server.sent.length = 0;
  server.signOk = false;
  server.gone = false;
});

const settle = () => new Promise((settled) => setTimeout(settled, 0));

function type(root: HTMLElement, selector: string, value: string) {
  const input = root.querySelector<HTMLInputElement>(selector)!;
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

describe("signing from a signing link", () => {
  it("shows the document, lists each problem beside its field, then shows it signed with the hash", async () => {
    const root = document.body.appendChild(document.createElement("div"));
    render(<SignLink token="tok-123" />, root);
    await vi.waitFor(() => expect(root.querySelector("[data-testid=link-hash]")).not.toBeNull());
    expect(root.textContent).toContain("Acme Bakery LLC 401(k) Plan");
    expect(root.textContent).toContain("s***@example.com");
    expect(root.querySelector("[data-testid=link-changes]")!.textContent).toContain("Employer match formula");
    expect(server.sent[0]).toMatchObject({ method: "GET", auth: null });
    expect(server.sent[0].url).toMatch(/\/v1\/signing\/tok-123$/);

    type(root, "#typed_name", "Pat Sponsor");
    await settle();
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    await vi.waitFor(() => expect(root.querySelector("#title-error")).not.toBeNull());
    expect(server.sent.at(-1)).toMatchObject({ method: "POST", auth: null,
      body: { typed_name: "Pat Sponsor", title: "", consent_to_electronic_records: false } });
    expect(root.querySelector("#consent-error")!.textContent).toBe("must be true");
    expect(root.querySelector("#typed_name")!.hasAttribute("aria-invalid")).toBe(false);

    server.signOk = true;
    type(root, "#title", "Owner");
    root.querySelector<HTMLInputElement>("#consent")!.click();
    await settle();
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    await vi.waitFor(() => expect(root.querySelector("[data-testid=link-signed]")).not.toBeNull());
    expect(root.querySelector("[data-testid=signed-hash]")!.textContent).toBe("ab".repeat(32));
    expect(server.sent.at(-1)!.body).toEqual({ typed_name: "Pat Sponsor", title: "Owner",
      consent_to_electronic_records: true });
  });

  it("says a link that does not work cannot be used, whatever the reason", async () => {
    server.gone = true;
    const root = document.body.appendChild(document.createElement("div"));
    render(<SignLink token="spent" />, root);
    await vi.waitFor(() => expect(root.querySelector("[data-testid=link-invalid]")).not.toBeNull());
    expect(root.querySelector("form")).toBeNull();
  });
});
