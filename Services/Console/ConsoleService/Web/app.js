// The Vectis console: plain ES modules, no build step. Each screen is a function that renders into <main>;
// every call goes to /api/<service>/… on this origin with the admin token the user signed in with.
import { api, token, setToken } from "./api.js";
import { integrations } from "./screens/integrations.js";
import { customers, customerHub } from "./screens/customers.js";
import { alerts } from "./screens/alerts.js";
import { dashboard } from "./screens/dashboard.js";
import { rules } from "./screens/rules.js";
import { ruleEdit, ruleForm } from "./screens/rule-form.js";
import { rulePage } from "./screens/rule-page.js";
import { notifications } from "./screens/notifications.js";
import { h, showProblem } from "./ui.js";
import { isLive, stop as stopLive, watch } from "./live.js";

const view = document.getElementById("view");
// Each screen renders into its own page element, attached when it is ready: a slow screen the user has
// already left can never draw over the one they went to.
// Each screen with the service whose published changes redraw it live (and the topics), if any.
const alertTopics = ["alert.raised", "alert.updated", "alert.resolved"];
const routes = [
  [/^#\/dashboard$/, dashboard, ["alerts", alertTopics]],
  [/^#\/integrations$/, integrations, ["collector", ["collector.sync.started", "collector.sync.progress", "collector.sync.completed", "collector.sync.failed"]]],
  [/^#\/customers$/, customers, ["backups", ["backup.job.recorded", "backup.condition.changed"]]],
  [/^#\/customers\/([^/]+)$/, customerHub, ["backups", ["backup.job.recorded", "backup.condition.changed"]]],
  [/^#\/alerts$/, alerts, ["alerts", alertTopics]],
  [/^#\/rules$/, rules, ["rules", ["ticket.opened", "ticket.noted", "ticket.closed", "rule.fired"]]],
  [/^#\/rules\/new\/([^/]+)$/, ruleForm],
  [/^#\/rules\/(ru_[0-9]+)$/, rulePage, ["rules", ["ticket.opened", "ticket.noted", "ticket.closed", "rule.fired"]]],
  [/^#\/rules\/(ru_[0-9]+)\/edit$/, ruleEdit],
  [/^#\/notifications$/, notifications],
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
let visits = 0;
async function route() {
  clearInterval(refresh);
  stopLive();
  const visit = ++visits;
  document.getElementById("sign-out").hidden = !token();
  if (!token()) return signIn();
  // The landing page: the dashboard once Datto is connected, Admin → Integrations before.
  if (!location.hash) {
    const answer = await api("collector", "/v1/integrations/datto", { quiet: true });
    if (visit !== visits) return;
    location.replace((answer.body?.integrations ?? []).length > 0 ? "#/dashboard" : "#/integrations");
    return;
  }
  const hash = location.hash;
  for (const link of document.querySelectorAll("nav a")) {
    if (hash.startsWith(link.getAttribute("href"))) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, screen, live] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    try {
      // A screen may return a function to call again for live updates (every 5 s while it is shown).
      const page = document.createElement("div");
      const again = await screen(page, ...match.slice(1).map(decodeURIComponent));
      if (visit !== visits) return;
      view.replaceChildren(...page.childNodes);
      document.title = `${view.querySelector("h1")?.textContent ?? "Vectis"} — Vectis`;
      // A live screen redraws when its service publishes a change; every 5 s otherwise, or while its stream is down.
      // Skipped while the tab is hidden: a console left open in a background tab costs the services nothing.
      if (typeof again === "function") {
        refresh = setInterval(() => { if (!document.hidden && !isLive()) again().catch(showProblem); }, 5000);
        if (live) watch(live[0], live[1], () => { if (visit === visits) again().catch(showProblem); });
      }
    } catch (error) {
      if (visit === visits) view.replaceChildren(h("p", { class: "message bad", role: "alert" }, error?.message ?? String(error)));
    }
    return;
  }
  location.hash = "#/integrations";
}

document.getElementById("sign-out").addEventListener("click", () => { setToken(null); route(); });
window.addEventListener("hashchange", route);
route();
