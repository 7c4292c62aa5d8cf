// Customers, and a customer's hub with its Backups section: one card per agent and the 10 most recent runs.
import { get } from "../api.js";
import { h, when } from "../ui.js";

export async function customers(view) {
  const table = h("tbody");
  async function load() {
    const { customers } = await get("assets", "/v1/customers");
    table.replaceChildren(...customers.map((customer) => h("tr", { "data-customer": customer.id },
      h("td", {}, h("a", { href: `#/customers/${encodeURIComponent(customer.id)}` }, customer.name)),
      h("td", {}, String(customer.devices)), h("td", {}, String(customer.agents)),
      h("td", {}, customer.failingAgents > 0 ? h("span", { class: "badge bad" }, `${customer.failingAgents} failing`) : h("span", { class: "badge ok" }, "OK")))));
  }
  view.replaceChildren(h("h1", {}, "Customers"), h("div", { class: "table-wrap" }, h("table", { id: "customers" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Customer"), h("th", { scope: "col" }, "Devices"),
      h("th", { scope: "col" }, "Agents"), h("th", { scope: "col" }, "Backups"))), table)));
  await load();
  return load;
}

export async function customerHub(view, id) {
  const cards = h("div", { class: "cards", id: "agent-cards" });
  const runs = h("tbody");
  const title = h("h1", {}, "Customer");
  async function load() {
    const hub = await get("backups", `/v1/customers/${encodeURIComponent(id)}/backups`);
    title.textContent = hub.customer.name;
    cards.replaceChildren(...hub.agents.map((agent) => h("article", { class: "card", "data-agent": agent.agentId, "aria-label": agent.name },
      h("h3", {}, agent.name, agent.isPaused ? " (paused)" : "", agent.isArchived ? " (archived)" : ""),
      h("p", {}, h("span", { class: `badge state-${agent.state}`, "data-field": "headline" }, agent.headline)),
      h("p", { class: "muted" }, `Appliance ${agent.deviceSerial}`),
      h("dl", {},
        h("dt", {}, "Last success"), h("dd", { "data-field": "last-success" }, when(agent.lastSuccessAt)),
        h("dt", {}, "Last failure"), h("dd", { "data-field": "last-failure" },
          agent.lastFailure ? `${when(agent.lastFailure.at)} — ${agent.lastFailure.message ?? "no message from Datto"}` : "never"),
        h("dt", {}, "Currently failing"), h("dd", { "data-field": "currently-failing" }, agent.currentlyFailing ? "yes" : "no"),
        h("dt", {}, "Failed nights in a row"), h("dd", { "data-field": "failed-nights" }, String(agent.failedNightsInARow))),
      ...agent.conditions.filter((c) => c.headline !== agent.headline).map((c) => h("p", { class: `badge state-${c.type}` }, c.headline)))));
    if (hub.agents.length === 0) {
      // A new customer: its appliances are known before any protected agent is read.
      const appliances = (hub.appliances ?? []).map((appliance) => appliance.name).join(", ");
      cards.replaceChildren(h("p", { class: "muted", id: "no-agents" },
        "No protected agents yet" + (appliances ? ` (appliances: ${appliances})` : "") + "."));
    }
    runs.replaceChildren(...hub.recentRuns.map((run) => h("tr", { "data-run": String(run.id) },
      h("td", {}, when(run.runAt)), h("td", {}, run.agentName),
      h("td", {}, h("span", { class: `badge ${run.status === "success" ? "ok" : "bad"}` }, run.status)),
      h("td", {}, run.errorMessage ?? ""))));
  }
  view.replaceChildren(title, h("h2", {}, "Backups"), cards, h("h2", {}, "10 most recent runs"),
    h("div", { class: "table-wrap" }, h("table", { id: "recent-runs" }, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Run"), h("th", { scope: "col" }, "Agent"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Error"))), runs)));
  await load();
  return load;
}
