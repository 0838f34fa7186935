import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ParamField } from "./param-field";
import type { ParamSpec } from "./api";

afterEach(cleanup);

function spec(kind: ParamSpec["kind"], extra: Partial<ParamSpec> = {}): ParamSpec {
  return {
    name: "p",
    label: "Param",
    kind,
    required: false,
    help: "",
    options: [],
    ...extra,
  } as ParamSpec;
}

describe("ParamField generates a control per kind", () => {
  it("text and textarea emit strings", () => {
    const onChange = vi.fn();
    render(<ParamField spec={spec("text")} value="a" onChange={onChange} />);
    fireEvent.change(screen.getByLabelText("Param"), { target: { value: "abc" } });
    expect(onChange).toHaveBeenLastCalledWith("abc");
    cleanup();
    render(<ParamField spec={spec("textarea")} value="" onChange={onChange} />);
    expect(screen.getByLabelText("Param").tagName).toBe("TEXTAREA");
  });

  it("number emits numbers, shows bounds and clears to undefined", () => {
    const onChange = vi.fn();
    render(<ParamField spec={spec("number", { min: 1, max: 5 })} value={2} onChange={onChange} />);
    const input = screen.getByLabelText("Param") as HTMLInputElement;
    expect(input.type).toBe("number");
    expect(input.min).toBe("1");
    expect(screen.getByText(/Between 1 and 5/)).toBeTruthy();
    fireEvent.change(input, { target: { value: "4" } });
    expect(onChange).toHaveBeenLastCalledWith(4);
    fireEvent.change(input, { target: { value: "" } });
    expect(onChange).toHaveBeenLastCalledWith(undefined);
  });

  it("boolean is a checkbox emitting true/false", () => {
    const onChange = vi.fn();
    render(<ParamField spec={spec("boolean")} value={false} onChange={onChange} />);
    fireEvent.click(screen.getByLabelText("Param"));
    expect(onChange).toHaveBeenLastCalledWith(true);
  });

  it("select offers the options", () => {
    const onChange = vi.fn();
    render(
      <ParamField
        spec={spec("select", { options: ["a", "b"] })}
        value={undefined}
        onChange={onChange}
      />,
    );
    fireEvent.change(screen.getByLabelText("Param"), { target: { value: "b" } });
    expect(onChange).toHaveBeenLastCalledWith("b");
  });

  it("multiselect emits the ticked options in declared order", () => {
    const onChange = vi.fn();
    render(
      <ParamField
        spec={spec("multiselect", { options: ["x", "y", "z"] })}
        value={["z"]}
        onChange={onChange}
      />,
    );
    fireEvent.click(screen.getByLabelText("x"));
    expect(onChange).toHaveBeenLastCalledWith(["x", "z"]);
  });

  it("secret is a password field and file a file picker", () => {
    render(<ParamField spec={spec("secret")} value="s3cret" onChange={() => {}} />);
    expect((screen.getByLabelText("Param") as HTMLInputElement).type).toBe("password");
    cleanup();
    render(<ParamField spec={spec("file")} value={undefined} onChange={() => {}} />);
    expect((screen.getByLabelText("Param") as HTMLInputElement).type).toBe("file");
  });

  it("a stored secret shows as set and 'replace' clears it for a new value", () => {
    const onChange = vi.fn();
    render(<ParamField spec={spec("secret")} value={{ set: true }} onChange={onChange} />);
    expect(screen.getByTestId("secret-set").textContent).toBe("••••• (set)");
    expect(screen.queryByLabelText("Param")).toBeNull();
    fireEvent.click(screen.getByText("replace"));
    expect(onChange).toHaveBeenLastCalledWith("");
  });

  it("falls back to the default and marks required parameters", () => {
    render(
      <ParamField
        spec={spec("text", { default: "dflt", required: true })}
        value={undefined}
        onChange={() => {}}
      />,
    );
    expect((screen.getByLabelText(/Param/) as HTMLInputElement).value).toBe("dflt");
    expect(screen.getByText("*")).toBeTruthy();
  });

  it("shows the help of a template parameter, with its template as code, tied to the control", () => {
    render(
      <ParamField
        spec={spec("textarea", {
          help: "A template over the inputs (Jinja syntax: `{{ value.amount }}`); <b>escaped</b>.",
        })}
        value=""
        onChange={() => {}}
      />,
    );
    const control = screen.getByLabelText("Param");
    const help = document.getElementById(control.getAttribute("aria-describedby")!)!;
    expect(help.textContent).toBe(
      "A template over the inputs (Jinja syntax: {{ value.amount }}); <b>escaped</b>.",
    );
    expect(help.querySelector("code")?.textContent).toBe("{{ value.amount }}");
    expect(help.querySelector("b")).toBeNull();
  });
});
