// Rules: the templates ready to enable, the rules in force (live, dry run or disabled) and the tickets opened.
import { get } from "../api.js";
import { h, table, when } from "../ui.js";

/// "Live", "Dry run until 2026-11-30 12:00" or "Disabled": what a rule does right now.
export function ruleState(rule) {
  if (!rule.enabled) return "Disabled";
  return rule.dryRun ? `Dry run until ${when(rule.dryRunUntil)}` : "Live";
}

/// "open", "closed by a person", "open, reopened 2×", "… replaces #12": who did what, as the rules service knows it.
export function ticketState(ticket) {
  let text = ticket.state;
  if (ticket.state === "closed" && ticket.closedBy) text += ticket.closedBy === "person" ? " by a person" : " by Vectis";
  if (ticket.reopens > 0) text += `, reopened ${ticket.reopens}×`;
  if (ticket.replacesTicketId) text += `, replaces #${ticket.replacesTicketId}`;
  return text;
}
/// What the PSA said when the ticket was last read back: its own status name, merged or deleted, and when.
export function ticketInPSA(ticket) {
  if (!ticket.checkedAt) return "not read yet";
  const gone = ticket.psaState === "merged" || ticket.psaState === "deleted";
  const name = ticket.psaStatus ? `${ticket.psaStatus}${gone ? ` (${ticket.psaState})` : ""}` : ticket.psaState ?? "?";
  return `${name}, read ${when(ticket.checkedAt)}`;
}
export function ticketRow(ticket) {
  return h("tr", { "data-ticket": String(ticket.id) },
    h("td", {}, `${ticket.psa} #${ticket.externalId ?? "…"}`), h("td", {}, ticket.summary ?? ""), h("td", {}, ticketState(ticket)),
    h("td", {}, h("a", { href: `#/customers/${encodeURIComponent(ticket.customerId)}` }, ticket.customerName)), h("td", {}, ticket.agentClass ? `${ticket.agentName} (${ticket.agentClass})` : ticket.agentName), h("td", {}, when(ticket.openedAt)), h("td", {}, String(ticket.notes)),
    h("td", {}, ticketInPSA(ticket)));
}
export const ticketColumns = ["Ticket", "Title", "State", "Customer", "Agent / appliance", "Opened", "Notes", "In the PSA"];

export async function rules(view) {
  const { templates } = await get("rules", "/v1/rule-templates");
  const ruleRows = h("tbody");
  const ticketRows = h("tbody");
  async function load() {
    const [{ rules }, { tickets }] = await Promise.all([get("rules", "/v1/rules"), get("rules", "/v1/tickets")]);
    ruleRows.replaceChildren(...rules.map((rule) => h("tr", { "data-rule": rule.id },
      h("td", {}, h("a", { href: `#/rules/${rule.id}` }, rule.name)), h("td", {}, rule.psa), h("td", {}, rule.trigger),
      h("td", {}, String(rule.thresholdNights)), h("td", {}, rule.action),
      h("td", {}, h("span", { class: `badge ${rule.enabled && !rule.dryRun ? "ok" : ""}` }, ruleState(rule))))));
    if (rules.length === 0) ruleRows.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No rule yet: enable a template above.")));
    ticketRows.replaceChildren(...tickets.map(ticketRow));
  }
  view.replaceChildren(h("h1", {}, "Rules"),
    h("h2", {}, "Templates"),
    h("div", { class: "cards", id: "templates" }, ...templates.map((template) => h("article", { class: "card", "data-template": template.id },
      h("h3", {}, template.name), h("p", { class: "muted" }, template.description),
      h("a", { class: "button", href: `#/rules/new/${template.id}`, "aria-label": `Enable ${template.name}` }, "Enable")))),
    h("h2", {}, "Rules in force"),
    table("rules", ["Rule", "PSA", "Trigger", "Threshold", "Action", "State"], ruleRows),
    h("h2", {}, "Tickets opened"),
    table("tickets", ticketColumns, ticketRows));
  await load();
  return load;
}
