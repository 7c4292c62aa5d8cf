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

/// "booted 28 Nov 02:10", "failed 28 Nov 02:10 — last success 20 Nov 02:10", "not verified yet".
function screenshotText(screenshot) {
  if (!screenshot) return "not verified yet";
  if (screenshot.succeeded) return `booted ${when(screenshot.lastAttemptAt)}`;
  return `failed ${when(screenshot.lastAttemptAt)} — last success ${screenshot.lastSuccessAt ? when(screenshot.lastSuccessAt) : "never"}`;
}

/// "91% used (4.1 of 4.5 TB), full in about 9 days".
function storageText(storage) {
  const tb = (bytes) => (bytes / 1e12).toFixed(1);
  return `${storage.percentUsed}% used (${tb(storage.usedBytes)} of ${tb(storage.usedBytes + storage.availableBytes)} TB), ${storage.projection}`;
}

export async function customerHub(view, id) {
  const cards = h("div", { class: "cards", id: "agent-cards" });
  const runs = h("tbody");
  const appliances = h("ul", { class: "appliances", id: "appliances" });
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
        h("dt", {}, "Failed nights in a row"), h("dd", { "data-field": "failed-nights" }, String(agent.failedNightsInARow)),
        h("dt", {}, "Screenshot verification"), h("dd", { "data-field": "screenshot" }, screenshotText(agent.screenshot))),
      ...agent.conditions.filter((c) => c.headline !== agent.headline).map((c) => h("p", { class: `badge state-${c.type}` }, c.headline)))));
    if (hub.agents.length === 0) {
      // A new customer: its appliances are known before any protected agent is read.
      const appliances = (hub.appliances ?? []).map((appliance) => appliance.name).join(", ");
      cards.replaceChildren(h("p", { class: "muted", id: "no-agents" },
        "No protected agents yet" + (appliances ? ` (appliances: ${appliances})` : "") + "."));
    }
    appliances.replaceChildren(...(hub.appliances ?? []).map((appliance) => h("li", { "data-appliance": appliance.serial },
      h("strong", {}, appliance.name), ` (${appliance.serial})`,
      appliance.storage
        ? [h("meter", { min: 0, max: 100, low: 85, high: 95, optimum: 0, value: appliance.storage.percentUsed, "aria-label": `${appliance.name} local storage used` }),
          h("span", { "data-field": "storage" }, ` ${storageText(appliance.storage)}`)]
        : h("span", { class: "muted" }, " storage not reported yet"))));
    runs.replaceChildren(...hub.recentRuns.map((run) => h("tr", { "data-run": String(run.id) },
      h("td", {}, when(run.runAt)), h("td", {}, run.agentName),
      h("td", {}, h("span", { class: `badge ${run.status === "success" ? "ok" : "bad"}` }, run.status)),
      h("td", {}, run.errorMessage ?? ""))));
  }
  view.replaceChildren(title, h("h2", {}, "Appliances"), appliances, h("h2", {}, "Backups"), cards, h("h2", {}, "10 most recent runs"),
    h("div", { class: "table-wrap" }, h("table", { id: "recent-runs" }, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Run"), h("th", { scope: "col" }, "Agent"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Error"))), runs)));
  await load();
  return load;
}
