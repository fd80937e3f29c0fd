// The console shell: sign in, navigation by URL fragment, one page module rendered at a time.

import { api, session } from "./api.js";
import { clear, describe, h } from "./dom.js";
import * as conversations from "./conversations.js";
import * as keys from "./keys.js";
import * as playground from "./playground.js";
import * as providers from "./providers.js";
import * as usage from "./usage.js";

const PAGES = { playground, conversations, usage, providers, keys };
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOut = document.getElementById("sign-out");
let leave = null;

function signInForm(message) {
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const status = h("p", { class: "error", role: "alert", hidden: !message }, message || "");
  const form = h(
    "form",
    { class: "card narrow", id: "sign-in" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Use a Switchboard API key. It is kept in this tab only (session storage) and sent as a Bearer header."),
    h("label", { for: "api-key" }, "API key"),
    input,
    status,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.set(input.value.trim());
    try {
      await api("/v1/agents");
    } catch (error) {
      session.clear();
      status.hidden = false;
      status.textContent = describe(error);
      input.focus();
      return;
    }
    input.value = "";
    if (!location.hash || location.hash === "#/sign-in") location.hash = "#/playground";
    else route();
  });
  return [form, input];
}

function showSignIn(message) {
  nav.hidden = true;
  signOut.hidden = true;
  if (leave) leave();
  leave = null;
  const [form, input] = signInForm(message);
  clear(main).append(form);
  input.focus();
}

async function route() {
  if (!session.key) return showSignIn();
  nav.hidden = false;
  signOut.hidden = false;
  const name = (location.hash.replace(/^#\/?/, "").split("/")[0] || "playground").toLowerCase();
  const page = PAGES[name] || playground;
  for (const link of nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === `#/${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (leave) leave();
  leave = null;
  // each page renders into its own container: a slow page that finishes after the next navigation
  // fills a detached node instead of the page now shown
  const view = h("div", { class: "view" });
  clear(main).append(view);
  document.title = `${page.title} · Switchboard console`;
  main.focus({ preventScroll: true });
  const cleanup = (await page.render(view)) || null;
  if (view.isConnected) leave = cleanup;
  else if (cleanup) cleanup();
}

signOut.addEventListener("click", () => {
  session.clear();
  showSignIn("Signed out.");
});
window.addEventListener("switchboard:unauthorized", () => {
  session.clear();
  showSignIn("The API key was refused (invalid, expired or revoked). Sign in again.");
});
window.addEventListener("hashchange", route);
route();
