// The Vectis console: plain ES modules, no build step. Each screen is a function that renders into <main>;
// every call goes to /api/<service>/… on this origin with the admin token the user signed in with.
import { api, token, setToken } from "./api.js";
import { integrations } from "./screens/integrations.js";
import { customers, customerHub } from "./screens/customers.js";
import { alerts } from "./screens/alerts.js";
import { rules } from "./screens/rules.js";
import { h, showProblem } from "./ui.js";

const view = document.getElementById("view");
const routes = [
  [/^#\/integrations$/, () => integrations(view)],
  [/^#\/customers$/, () => customers(view)],
  [/^#\/customers\/([^/]+)$/, (id) => customerHub(view, decodeURIComponent(id))],
  [/^#\/alerts$/, () => alerts(view)],
  [/^#\/rules$/, () => rules(view)],
];

/// Asks for the admin token once per browser session (kept in sessionStorage, gone when the tab closes).
function signIn() {
  const input = h("input", { id: "token", type: "password", autocomplete: "current-password", required: true });
  const message = h("p", { class: "message bad", id: "sign-in-problem", hidden: true });
  const form = h("form", { class: "card", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("p", { class: "muted" }, "Paste the admin token (VECTIS_ADMIN_TOKEN, or .vectis/data/admin-token in a local run)."),
    h("label", { for: "token" }, "Admin token"), input,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "sign-in" }, "Sign in")), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    const answer = await api("collector", "/v1/integrations/datto", { quiet: true });
    if (answer.status === 401) {
      setToken(null);
      message.textContent = "That token is not the admin token.";
      message.hidden = false;
      return;
    }
    route();
  });
  view.replaceChildren(form);
  input.focus();
}

let refresh = null;
async function route() {
  clearInterval(refresh);
  document.getElementById("sign-out").hidden = !token();
  if (!token()) return signIn();
  const hash = location.hash || "#/integrations";
  for (const link of document.querySelectorAll("nav a")) {
    if (hash.startsWith(link.getAttribute("href"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, screen] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    try {
      // A screen may return a function to call again for live updates (every 5 s while it is shown).
      const again = await screen(...match.slice(1));
      if (typeof again === "function") refresh = setInterval(() => again().catch(showProblem), 5000);
    } catch (error) {
      showProblem(error);
    }
    return;
  }
  location.hash = "#/integrations";
}

document.getElementById("sign-out").addEventListener("click", () => { setToken(null); route(); });
window.addEventListener("hashchange", route);
route();
