import { render } from "preact";
import { afterEach, describe, expect, it, vi } from "vitest";

// openapi-fetch takes the global fetch when the client is made, so the stand-in is in place before any import. Each
// test sets the answers by method and path; a 422 answer carries the API's English field messages.
const answers = vi.hoisted(() => {
  const table = new Map<string, { status: number; body: unknown }>();
  globalThis.fetch = (async (input: Request) => {
    const found = table.get(`${input.method} ${new URL(input.url).pathname}`) ?? { status: 404, body: {} };
    const type = found.status >= 400 ? "application/problem+json" : "application/json";
    return new Response(JSON.stringify(found.body), { status: found.status, headers: { "Content-Type": type } });
  }) as typeof fetch;
  return table;
});

import { I18n, translator } from "../i18n";
import { Beneficiaries } from "../screens/participant/Beneficiaries";
import { Investments } from "../screens/participant/Investments";
import { Stepper } from "../screens/participant/Stepper";
import { Field, FieldError } from "./Field";
import { localMessage } from "./problems";
import { ErrorBox } from "./states";
import { ApiError } from "../api/client";

const es = translator("es");
afterEach(() => { document.body.innerHTML = ""; answers.clear(); });
const invalid = (errors: { field: string; message: string }[]) => ({ status: 422, body: {
  type: "https://plumb.dev/problems/validation", title: "Validation failed", status: 422,
  detail: `${errors.length} problems found.`, errors } });

function inSpanish(node: preact.ComponentChildren) {
  const root = document.body.appendChild(document.createElement("div"));
  render(<I18n.Provider value={es}>{node}</I18n.Provider>, root);
  return root;
}
const settle = async (until: () => unknown) => {
  for (let i = 0; i < 50 && !until(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};
const click = (root: HTMLElement, text: string) =>
  [...root.querySelectorAll("button")].find((b) => b.textContent === text)!.click();

describe("every way a screen draws the API's problems says them in the reader's language", () => {
  it("beside an input, a stepper, a group of fields, and in the error box", () => {
    const message = "Must be greater than or equal to 0 and less than or equal to 100.";
    const kinds: [string, preact.ComponentChildren, string][] = [
      ["input", <Field id="f" label="F" value="" onInput={() => {}} errors={[message]} />, "#f-error"],
      ["stepper", <Stepper id="s" label="S" value={1} min={0} max={100} onChange={() => {}} errors={[message]} />, "#s-error"],
      ["group", <FieldError id="g-error" messages={[message]} />, "#g-error"],
      ["error box", <ErrorBox error={new ApiError(invalid([]).body)} extra={[`lines: ${message}`]} />, ".error-box li"],
    ];
    for (const [kind, node, where] of kinds) {
      const root = inSpanish(node);
      expect(root.querySelector(where)!.textContent, kind).toMatch(/Entre 0 y 100\.$/);
      document.body.innerHTML = "";
    }
  });

  it("knows the enrollment rules' own messages, keeping their figures", () => {
    const cases: [string, string][] = [
      ["is required to reject an election", "Indique el motivo del rechazo."],
      ["percents must add up to exactly 100", "Los porcentajes deben sumar exactamente 100."],
      ["primary beneficiaries' shares must add up to 100", "Las partes de los beneficiarios principales deben sumar 100."],
      ["must be above 0", "Debe ser mayor que 0."],
      ["lines: percents add up to more than 100% of pay", "lines: Los porcentajes suman más del 100 % del pago."],
      ["ask more than your pay per paycheck ($1,200 on the census)", "Pide más que su pago por nómina ($1,200 según el censo)."],
      ["catch-up contributions start the year you turn 50 (IRC 414(v)(5))",
        "Los aportes de recuperación empiezan el año en que cumple 50."],
      ["must not be blank", "Obligatorio."],
    ];
    for (const [api, spanish] of cases) expect(localMessage(api, es)).toBe(spanish);
  });

  it("the beneficiaries screen shows a row's problem and the list's in Spanish", async () => {
    answers.set("GET /mobile/v1/beneficiaries", { status: 200, body: { beneficiaries: [
      { name: "Sam", relationship: "spouse", tier: "primary", percent: "60" }] } });
    answers.set("PUT /mobile/v1/beneficiaries", invalid([
      { field: "beneficiaries[0].percent", message: "must be above 0" },
      { field: "beneficiaries", message: "primary beneficiaries' shares must add up to 100" }]));
    const root = inSpanish(<Beneficiaries />);
    await settle(() => root.querySelector("#ben-0-name"));
    click(root, es.t("pSave"));
    await settle(() => root.querySelector("#ben-error"));
    expect(root.querySelector("#ben-0-error")!.textContent).toBe("Debe ser mayor que 0.");
    expect(root.querySelector("#ben-error")!.textContent).toBe("Las partes de los beneficiarios principales deben sumar 100.");
  });

  it("the investments screen shows the mix's problem in Spanish", async () => {
    answers.set("GET /mobile/v1/me", { status: 200, body: { funds: [
      { id: "f1", name: "Index", ticker: "IDX", is_default: true }] } });
    answers.set("GET /mobile/v1/investments", { status: 200, body: { uses_default_fund: false,
      allocations: [{ fund_id: "f1", percent: "100" }] } });
    answers.set("PUT /mobile/v1/investments", invalid([{ field: "allocations", message: "percents must add up to exactly 100" }]));
    const root = inSpanish(<Investments />);
    await settle(() => root.querySelector("#fund-f1"));
    click(root, es.t("pSave"));
    await settle(() => root.querySelector("section .field-error[role=alert]"));
    expect(root.querySelector("section .field-error[role=alert]")!.textContent).toBe("Los porcentajes deben sumar exactamente 100.");
  });

  it("no screen draws a field's problems itself: they all go through FieldError", () => {
    const sources = import.meta.glob("../screens/**/*.tsx", { query: "?raw", import: "default", eager: true });
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    for (const [path, source] of Object.entries(sources) as [string, string][]) {
      if (path.endsWith(".test.tsx")) continue;
      // The app's own sentences (t("…")) may use the style; a line of the API's messages may not.
      expect(source, path).not.toMatch(/class="field-error"[^>]*role="alert">\{(?!t\()/);
    }
  });
});
