// Sign-in page. The mailed link is /login#token=…: the token is in the fragment, which
// the browser never sends to a server; this page posts it to /api/auth/verify.
import { api, el, go } from "./api.js";

export async function loginPage(root) {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    history.replaceState(null, "", "/login"); // drop the token from the address bar
    const status = el("p", { id: "login-status" }, "Signing in…");
    root.append(el("main", { class: "narrow" }, el("h1", {}, "rclaude"), status));
    try {
      await api("POST", "/api/auth/verify", { token });
      go("/");
    } catch (err) {
      status.textContent = `Sign-in failed: ${err.message}. Request a new link below.`;
      root.querySelector("main").append(requestForm());
    }
    return;
  }
  root.append(el("main", { class: "narrow" }, el("h1", {}, "rclaude"),
    el("p", {}, "Sign in with a link sent to your email address."), requestForm()));
  // The link opened in this same tab only changes the fragment: start over with it.
  window.addEventListener("hashchange", () => window.location.reload(), { once: true });
}

function requestForm() {
  const email = el("input", { type: "email", name: "email", id: "email", required: true,
    placeholder: "you@example.com", autocomplete: "email" });
  const note = el("p", { id: "login-note", class: "note" });
  const form = el("form", { id: "login-form", onsubmit: async (ev) => {
    ev.preventDefault();
    note.textContent = "Sending…";
    try {
      const r = await api("POST", "/api/auth/request", { email: email.value });
      note.textContent = `${r.message}. Open the link from the mail in this browser.`;
    } catch (err) {
      note.textContent = err.message + (err.hint ? ` (${err.hint})` : "");
    }
  } }, el("label", { for: "email" }, "Email"), email,
  el("button", { type: "submit" }, "Send sign-in link"), note);
  return form;
}
