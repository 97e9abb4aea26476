// Sign in and sign up.
import { signIn, signUp } from "./api.js";
import { field, formData, h, setStatus, show } from "./dom.js";

function submitting(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await action(formData(form));
    } catch (error) {
      setStatus(error.message, true);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export function signInView(done) {
  show(h("h1", {}, "Sign in"), submitting(h("form", { class: "stack" },
    field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password",
      autocomplete: "current-password", required: true })),
    h("div", {}, h("button", { type: "submit" }, "Sign in"))),
  async (data) => done(await signIn(data.email, data.password))),
  h("p", {}, "New here? ", h("a", { href: "#/signup" }, "Create an account")));
}

export function signUpView(done) {
  show(h("h1", {}, "Create an account"), submitting(h("form", { class: "stack" },
    field("First name", h("input", { name: "first_name", autocomplete: "given-name", required: true })),
    field("Last name", h("input", { name: "last_name", autocomplete: "family-name", required: true })),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field("Password (8 or more characters, mixed)", h("input", { name: "password", type: "password",
      autocomplete: "new-password", minlength: 8, required: true })),
    field("I am", h("select", { name: "user_type" },
      h("option", { value: "candidate" }, "looking for a job"),
      h("option", { value: "company" }, "hiring for a company"))),
    h("div", {}, h("button", { type: "submit" }, "Create account"))),
  async (data) => done(await signUp(data))));
}
