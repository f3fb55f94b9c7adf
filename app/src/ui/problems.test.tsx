import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { I18n, translator } from "../i18n";
import { Field } from "./Field";
import { localMessage, problemSummary } from "./problems";
import { ErrorBox } from "./states";

const es = translator("es");
const en = translator("en");
const problem = (slug: string, detail = "This exception is already accepted.") =>
  ({ type: `https://plumb.dev/problems/${slug}`, title: "Conflict", status: 409, detail, errors: [] });
afterEach(() => { document.body.innerHTML = ""; });

describe("a problem from the API is shown in the reader's language by its stable type", () => {
  it("gives each common problem type its Spanish sentence, and English the API's own detail", () => {
    expect(problemSummary(problem("conflict"), es)).toBe("No se puede hacer en la situación actual.");
    expect(problemSummary(problem("precondition-failed"), es)).toBe("Esto cambió desde que lo abrió: revíselo de nuevo.");
    expect(problemSummary(problem("validation", "2 problems found."), es)).toBe("Hay datos que corregir.");
    expect(problemSummary(problem("conflict"), en)).toBe("This exception is already accepted.");
  });

  it("falls back to the API's text for a type it does not know", () => {
    expect(problemSummary(problem("payment-required", "Your plan's fee is due."), es)).toBe("Your plan's fee is due.");
  });

  it("translates the standard field messages, keeping their numbers and the field a general problem names", () => {
    expect(localMessage("Missing data for required field.", es)).toBe("Obligatorio.");
    expect(localMessage("Longer than maximum length 1000.", es)).toBe("Como máximo 1000 caracteres.");
    expect(localMessage("Must be greater than or equal to 0 and less than or equal to 100.", es)).toBe("Entre 0 y 100.");
    expect(localMessage("lines[0].percent: Not a valid number.", es)).toBe("lines[0].percent: No es válido.");
    expect(localMessage("are required to correct a statement", es)).toBe("are required to correct a statement");
    expect(localMessage("Missing data for required field.", en)).toBe("Missing data for required field.");
  });

  it("shows them so in the error box and beside the field", () => {
    const host = document.body.appendChild(document.createElement("div"));
    const error = new ApiError(problem("validation", "1 problem found."));
    render(
      <I18n.Provider value={es}>
        <ErrorBox error={error} extra={["body: Unknown field."]} />
        <Field id="note" label="Nota" value="" onInput={() => {}} errors={["Longer than maximum length 1000."]} />
      </I18n.Provider>,
      host,
    );
    expect(host.querySelector(".error-box p")!.textContent).toBe("Hay datos que corregir.");
    expect(host.querySelector(".error-box li")!.textContent).toBe("body: Este formulario no tiene ese campo.");
    expect(host.querySelector("#note-error")!.textContent).toBe("Como máximo 1000 caracteres.");
  });
});
