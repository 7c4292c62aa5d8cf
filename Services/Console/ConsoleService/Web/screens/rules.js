// Rules: the templates ready to enable, and the rules in force with their tickets.
import { get } from "../api.js";
import { h } from "../ui.js";

export async function rules(view) {
  const [{ templates }, { rules }, { tickets }] = await Promise.all([
    get("rules", "/v1/rule-templates"), get("rules", "/v1/rules"), get("rules", "/v1/tickets")]);
  view.replaceChildren(h("h1", {}, "Rules"),
    h("h2", {}, "Templates"),
    h("div", { class: "cards", id: "templates" }, ...templates.map((template) => h("article", { class: "card", "data-template": template.id },
      h("h3", {}, template.name), h("p", { class: "muted" }, template.description)))),
    h("h2", {}, "Rules in force"),
    h("div", { class: "table-wrap" }, h("table", { id: "rules" }, h("thead", {}, h("tr", {},
      ...["Rule", "PSA", "Trigger", "Threshold", "Dry run", "Enabled"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rules.map((rule) => h("tr", { "data-rule": rule.id }, h("td", {}, rule.name), h("td", {}, rule.psa),
        h("td", {}, rule.trigger), h("td", {}, String(rule.thresholdNights)), h("td", {}, rule.dryRun ? "yes" : "no"),
        h("td", {}, rule.enabled ? "yes" : "no")))))),
    h("h2", {}, "Tickets opened"),
    h("div", { class: "table-wrap" }, h("table", { id: "tickets" }, h("thead", {}, h("tr", {},
      ...["Ticket", "State", "Customer", "Agent / appliance", "Notes", "Rule"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...tickets.map((ticket) => h("tr", {}, h("td", {}, `${ticket.psa} #${ticket.externalId ?? "…"}`), h("td", {}, ticket.state),
        h("td", {}, ticket.customerName), h("td", {}, ticket.agentName), h("td", {}, String(ticket.notes)), h("td", {}, ticket.ruleId)))))));
}
