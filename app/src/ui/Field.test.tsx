import { render } from "preact";
import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { Field } from "./Field";
import { formProblems } from "./problems";

const root = () => document.body.appendChild(document.createElement("div"));
afterEach(() => { document.body.innerHTML = ""; });

describe("a problem-details error is shown next to the field it names", () => {
  it("puts each listed problem under its own input, tied to it for screen readers", () => {
    const error = new ApiError({
      status: 422, title: "Validation failed", detail: "Nothing was stored.", type: "about:blank",
      errors: [{ field: "ssn_last4", message: "must be four digits" }, { field: "body", message: "is too large" }],
    });
    const problems = formProblems(error, ["ssn_last4", "email"]);
    const host = root();
    render(
      <>
        <Field id="ssn_last4" label="SSN" value="12" onInput={() => {}} errors={problems.byField.ssn_last4} />
        <Field id="email" label="Email" value="" onInput={() => {}} errors={problems.byField.email} />
      </>,
      host,
    );
    const ssn = host.querySelector<HTMLInputElement>("#ssn_last4")!;
    expect(ssn.getAttribute("aria-invalid")).toBe("true");
    expect(host.querySelector(`#${ssn.getAttribute("aria-describedby")}`)!.textContent).toBe("must be four digits");
    const email = host.querySelector<HTMLInputElement>("#email")!;
    expect(email.hasAttribute("aria-invalid")).toBe(false);
    expect(email.hasAttribute("aria-describedby")).toBe(false);
    expect(problems.general).toEqual(["body: is too large"]);
  });

  it("names a nested field by its first part (lines[0].percent belongs to lines)", () => {
    const error = new ApiError({ status: 422, errors: [{ field: "lines[0].percent", message: "too high" }] });
    expect(formProblems(error, ["lines"]).byField).toEqual({ lines: ["too high"] });
  });

  it("labels the input", () => {
    const host = root();
    render(<Field id="email" label="Email" value="a@b.c" onInput={() => {}} />, host);
    expect(host.querySelector("label")!.getAttribute("for")).toBe("email");
    expect(host.querySelector<HTMLInputElement>("#email")!.value).toBe("a@b.c");
  });
});
