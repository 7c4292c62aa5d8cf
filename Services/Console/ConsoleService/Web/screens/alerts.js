// The alerts feed, newest first: filter by state and customer; acknowledge and resolve.
import { api, get } from "../api.js";
import { h, when } from "../ui.js";

export async function alerts(view) {
  const state = h("select", { id: "alert-state" }, ...["open,acknowledged,muted", "open", "acknowledged", "muted", "resolved", ""].map(
    (value) => h("option", { value }, value === "" ? "any state" : value.replaceAll(",", ", "))));
  const customer = h("input", { id: "alert-customer", placeholder: "customer id (c_…), optional" });
  const rows = h("tbody");
  async function load() {
    const query = new URLSearchParams();
    if (state.value) query.set("state", state.value);
    if (customer.value.trim()) query.set("customer", customer.value.trim());
    const page = await get("alerts", `/v1/alerts?${query}`);
    rows.replaceChildren(...page.alerts.map((alert) => h("tr", { "data-alert": alert.id },
      h("td", {}, h("span", { class: `badge ${alert.severity === "high" ? "bad" : "warn"}` }, alert.severity)),
      h("td", {}, alert.type), h("td", {}, alert.state), h("td", {}, alert.customerName),
      h("td", {}, alert.agentName ?? alert.deviceName ?? alert.deviceSerial), h("td", {}, String(alert.occurrences)),
      h("td", {}, when(alert.lastSeenAt)), h("td", {}, alert.lastError ?? "", alert.note ? h("p", { class: "muted" }, alert.note) : null),
      h("td", {}, ...(alert.state === "resolved" ? [] : [
        alert.state === "open" ? h("button", { type: "button", class: "secondary", onclick: () => act(alert.id, "acknowledge") }, "Acknowledge") : null,
        h("button", { type: "button", class: "secondary", onclick: () => act(alert.id, "resolve") }, "Resolve")])))));
  }
  async function act(id, action) {
    await api("alerts", `/v1/alerts/${id}/${action}`, { method: "POST", body: { by: "console" } });
    await load();
  }
  state.addEventListener("change", load);
  customer.addEventListener("change", load);
  view.replaceChildren(h("h1", {}, "Alerts"),
    h("div", { class: "card" }, h("label", { for: "alert-state" }, "State"), state, h("label", { for: "alert-customer" }, "Customer"), customer),
    h("div", { class: "table-wrap" }, h("table", { id: "alerts" }, h("thead", {}, h("tr", {},
      ...["Severity", "Type", "State", "Customer", "Agent / appliance", "Seen", "Last", "Last error", ""].map((t) => h("th", { scope: "col" }, t)))), rows)));
  await load();
  return load;
}
