import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// openapi-fetch takes the global fetch when the client is made, so the stand-in is in place before any import.
const server = vi.hoisted(() => {
  const state = { dead: [] as Record<string, unknown>[], retry: { status: 200, body: {} as unknown }, sent: [] as string[] };
  globalThis.fetch = (async (input: Request) => {
    const path = new URL(input.url).pathname;
    state.sent.push(`${input.method} ${path}`);
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status,
      headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });
    if (input.method === "GET" && path === "/v1/employers/emp_1/payroll-messages") {
      return json(200, { data: state.dead, next_cursor: null });
    }
    if (input.method === "POST" && path.endsWith("/retry")) return json(state.retry.status, state.retry.body);
    return json(404, { type: "https://plumb.dev/problems/not-found", title: "Not found", status: 404 });
  }) as typeof fetch;
  return state;
});

import type { Schemas } from "../../api/client";
import { I18n, translator, type Language } from "../../i18n";
import { session } from "../../session";
import { PayrollMessages } from "./PayrollMessages";
import { deliveryReason, findingText } from "./payrollTexts";

const es = translator("es");
const en = translator("en");
const dead = (id: string, last_error: string) => ({ id, topic: "payroll.deferral_change", status: "dead", attempts: 8,
  last_error, created_at: "2026-11-20T15:00:00Z", payload: { action: "set", external_id: "E7", effective_date: "2026-12-04" } });

beforeEach(() => {
  session.start({ access_token: "t", refresh_token: "r", user: { role: "plan_sponsor", employer_id: "emp_1" } } as never);
  server.dead = [];
  server.sent = [];
  server.retry = { status: 200, body: {} };
});
afterEach(() => { document.body.innerHTML = ""; });

function shown(language: Language = "es") {
  const root = document.body.appendChild(document.createElement("div"));
  render(<I18n.Provider value={translator(language)}><PayrollMessages /></I18n.Provider>, root);
  return root;
}
const settle = async (until: () => unknown) => {
  for (let i = 0; i < 50 && !until(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe("a payroll exception's finding is said in the reader's language from its code and details", () => {
  const exception = (code: string, details: Record<string, unknown>, message = "The API's English.") =>
    ({ code, details, message }) as Schemas["ExceptionOut"];

  it("builds each known finding's sentence from its figures, money from integer cents", () => {
    const cases: [Schemas["ExceptionOut"], string][] = [
      [exception("not_eligible", { entry_date: "2027-04-01", deferred_cents: 3000 }),
        "Se retuvieron aportes de $30.00 antes de la fecha de ingreso al plan del empleado (1 abr 2027)."],
      [exception("opted_out", { deferred_cents: 9000, opted_out_on: "2026-12-04" }),
        "Se retuvieron aportes de $90.00 aunque el empleado renunció a la inscripción desde el 4 dic 2026."],
      [exception("over_402g", { room_cents: 10000, deferred_cents: 20000, year: 2026 }),
        "Los aportes de esta nómina ($200.00) superan en $100.00 el límite de 402(g) más recuperación de 2026."],
      [exception("deferral_mismatch", { money_type: "pretax", expected_cents: 9000, withheld_cents: 6000 }),
        "Antes de impuestos: se retuvo $60.00 y la elección vigente pide $90.00 (de menos en $30.00). "
        + "Una oportunidad de aporte perdida: el empleador puede deber un aporte correctivo."],
      [exception("paid_after_termination", { termination_date: "2026-12-02", pay_date: "2026-12-18" }),
        "Pagado el 18 dic 2026, después de la baja del 2 dic 2026."],
      [exception("new_hire_added", { employee_name: "Pat Lee" }),
        "Pat Lee no estaba en el censo y se agregó desde esta nómina; revise sus datos."],
    ];
    for (const [found, spanish] of cases) expect(findingText(found, es).replace(/\u00a0/g, " ")).toBe(spanish);
  });

  it("keeps the API's English, and its text for a code it does not know or details missing a figure", () => {
    expect(findingText(exception("not_eligible", { deferred_cents: 3000 }, "Deferrals of $30.00…"), en)).toBe("Deferrals of $30.00…");
    expect(findingText(exception("something_new", {}), es)).toBe("The API's English.");
    expect(findingText(exception("opted_out", { deferred_cents: 9000 }), es)).toBe("The API's English.");
    expect(findingText(exception("not_eligible", { entry_date: null, deferred_cents: 3000 }), es))
      .toContain("(aún no se conoce)");
  });

  it("says why a message to payroll failed from its fixed classification, a provider's name kept", () => {
    expect(deliveryReason("HTTP 503 from the payroll endpoint", es)).toBe("La dirección de la nómina respondió HTTP 503.");
    expect(deliveryReason("Finch: timed out", es)).toBe("Finch: La nómina no respondió a tiempo.");
    expect(deliveryReason("Gusto: HTTP 418 from the payroll endpoint reading the employee's benefits", es))
      .toBe("Gusto: La dirección de la nómina respondió HTTP 418 (al leer los beneficios del empleado).");
    expect(deliveryReason("Finch job (enroll) failed: bad", es)).toBe("Finch job (enroll) failed: bad");
    expect(deliveryReason("timed out", en)).toBe("timed out");
  });
});

describe("the sponsor's messages to payroll", () => {
  it("lists each dead letter with its reason in Spanish, and a retried one leaves the list", async () => {
    server.dead = [dead("msg_1", "HTTP 503 from the payroll endpoint"), dead("msg_2", "timed out")];
    const root = shown();
    await settle(() => root.querySelector("[data-testid=payroll-messages]"));
    const cards = root.querySelectorAll("[data-testid=payroll-messages] > li");
    expect(cards.length).toBe(2);
    expect(cards[0].querySelector("h2")!.textContent).toBe("Cambio de aporte");
    expect(cards[0].textContent).toContain("Empleado E7 · Retener la nueva elección desde el 4 dic 2026");
    expect(cards[0].querySelector("[data-testid=reason]")!.textContent).toBe("La dirección de la nómina respondió HTTP 503.");
    expect(cards[1].querySelector("[data-testid=reason]")!.textContent).toBe("La nómina no respondió a tiempo.");
    expect(cards[0].textContent).toContain("8 intentos");
    cards[0].querySelector("button")!.click();
    await settle(() => root.querySelector("[data-testid=retried]"));
    expect(server.sent).toContain("POST /v1/payroll-messages/msg_1/retry");
    expect(root.querySelectorAll("[data-testid=payroll-messages] > li").length).toBe(1);
    expect(root.querySelector("[data-testid=retried]")!.textContent).toBe("Enviado de nuevo: vuelve a estar en la cola de la nómina.");
  });

  it("shows a refused retry's problem on its message, in Spanish, and keeps it listed", async () => {
    server.dead = [dead("msg_1", "timed out")];
    server.retry = { status: 409, body: { type: "https://plumb.dev/problems/conflict", title: "Conflict", status: 409,
      detail: "Only dead-lettered messages are retried; this one is pending." } };
    const root = shown();
    await settle(() => root.querySelector("[data-testid=payroll-messages] button"));
    root.querySelector<HTMLButtonElement>("[data-testid=payroll-messages] button")!.click();
    await settle(() => root.querySelector(".error-box"));
    expect(root.querySelector("[data-testid=payroll-messages] .error-box p")!.textContent)
      .toBe("No se puede hacer en la situación actual.");
    expect(root.querySelectorAll("[data-testid=payroll-messages] > li").length).toBe(1);
  });

  it("says so when payroll took everything", async () => {
    const root = shown("en");
    await settle(() => root.querySelector(".empty"));
    expect(root.querySelector(".empty")!.textContent).toBe("No failed messages: payroll took everything.");
  });
});
