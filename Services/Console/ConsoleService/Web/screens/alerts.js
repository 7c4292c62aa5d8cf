// The alerts feed, newest first: filter by state and customer; acknowledge, resolve, and mute with an expiry
// (a mute always ends: the alerts service refuses one without).
import { api, get } from "../api.js";
import { h, say, table, when } from "../ui.js";

const muteLengths = [["4", "4 hours"], ["24", "24 hours"], ["72", "3 days"], ["168", "7 days"], ["720", "30 days"]];

/// The mute dialog: this agent (or appliance) or the whole customer, for how long, and why.
function muteDialog(onMuted) {
  const scope = h("select", { id: "mute-scope" });
  const length = h("select", { id: "mute-hours" }, ...muteLengths.map(([hours, label]) => h("option", { value: hours }, label)));
  length.value = "24";
  const reason = h("input", { id: "mute-reason", autocomplete: "off", placeholder: "e.g. server being replaced" });
  const problem = h("p", { id: "mute-problem", class: "message", hidden: true, role: "alert" });
  const title = h("h2", { id: "mute-title" }, "Mute");
  const dialog = h("dialog", { id: "mute-dialog", "aria-labelledby": "mute-title" });
  let alert;
  const form = h("form", { method: "dialog" }, title,
    h("label", { for: "mute-scope" }, "What"), scope, h("label", { for: "mute-hours" }, "For"), length,
    h("label", { for: "mute-reason" }, "Reason"), reason,
    h("p", { class: "hint" }, "Failures still count while muted; nothing is raised or ticketed until the mute ends."),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "mute-confirm" }, "Mute"),
      h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Cancel")),
    problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const until = new Date(Date.now() + Number(length.value) * 3_600_000).toISOString();
    const body = scope.value === "customer"
      ? { scope: "customer", customerId: alert.customerId, until, reason: reason.value.trim() || undefined, by: "console" }
      : { scope: "agent", agentId: alert.subjectId ?? alert.agentId, until, reason: reason.value.trim() || undefined, by: "console" };
    const answer = await api("alerts", "/v1/mutes", { method: "POST", body });
    if (answer.status !== 201) return say(problem, false, answer.body?.error ?? `vectis-alerts answered ${answer.status}`);
    dialog.close();
    await onMuted();
  });
  dialog.append(form);
  const openFor = (target) => {
    alert = target;
    const subject = target.agentName ?? target.deviceName ?? target.deviceSerial;
    title.textContent = `Mute ${subject}`;
    scope.replaceChildren(h("option", { value: "agent" }, `Only ${subject}`), h("option", { value: "customer" }, `All of ${target.customerName}`));
    reason.value = "";
    problem.hidden = true;
    dialog.showModal();
  };
  return { dialog, openFor };
}

export async function alerts(view) {
  const state = h("select", { id: "alert-state" }, ...["open,acknowledged,muted", "open", "acknowledged", "muted", "resolved", ""].map(
    (value) => h("option", { value }, value === "" ? "any state" : value.replaceAll(",", ", "))));
  const customer = h("select", { id: "alert-customer" }, h("option", { value: "" }, "every customer"));
  const listing = await api("assets", "/v1/customers");
  for (const c of listing.body?.customers ?? []) customer.append(h("option", { value: c.id }, c.name));
  const rows = h("tbody");
  const mute = muteDialog(load);

  // A poll and an action's reload can overlap; only the newest answer is shown (an older one would undo a mute).
  let newest = 0;
  async function load() {
    const mine = ++newest;
    const query = new URLSearchParams();
    if (state.value) query.set("state", state.value);
    if (customer.value) query.set("customer", customer.value);
    const page = await get("alerts", `/v1/alerts?${query}`);
    if (mine !== newest) return;
    rows.replaceChildren(...page.alerts.map((alert) => h("tr", { "data-alert": alert.id },
      h("td", {}, h("span", { class: `badge ${alert.severity === "high" ? "bad" : "warn"}` }, alert.severity)),
      h("td", {}, alert.type), h("td", {}, alert.state),
      h("td", {}, h("a", { href: `#/customers/${encodeURIComponent(alert.customerId)}` }, alert.customerName)),
      h("td", {}, alert.agentName ?? alert.deviceName ?? alert.deviceSerial), h("td", {}, String(alert.occurrences)),
      h("td", {}, when(alert.lastSeenAt)), h("td", {}, alert.lastError ?? "", alert.note ? h("p", { class: "muted" }, alert.note) : null),
      h("td", {}, h("div", { class: "row-actions" }, ...(alert.state === "resolved" ? [] : [
        alert.state === "open" ? h("button", { type: "button", class: "secondary", onclick: () => act(alert.id, "acknowledge") }, "Acknowledge") : null,
        alert.state === "muted" ? null : h("button", { type: "button", class: "secondary", "data-action": "mute", onclick: () => mute.openFor(alert) }, "Mute…"),
        h("button", { type: "button", class: "secondary", onclick: () => act(alert.id, "resolve") }, "Resolve")]))))));
    if (page.alerts.length === 0) rows.replaceChildren(h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No alerts in this view.")));
  }
  async function act(id, action) {
    const answer = await api("alerts", `/v1/alerts/${id}/${action}`, { method: "POST", body: { by: "console" } });
    if (answer.status >= 400) throw new Error(answer.body?.error ?? `vectis-alerts answered ${answer.status}`);
    await load();
  }
  state.addEventListener("change", load);
  customer.addEventListener("change", load);
  view.replaceChildren(h("h1", {}, "Alerts"),
    h("div", { class: "card filters" }, h("div", {}, h("label", { for: "alert-state" }, "State"), state),
      h("div", {}, h("label", { for: "alert-customer" }, "Customer"), customer)),
    table("alerts", ["Severity", "Type", "State", "Customer", "Agent / appliance", "Times", "Last", "Last error", ""], rows),
    mute.dialog);
  await load();
  return load;
}
