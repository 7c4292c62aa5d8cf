// Enable a template: the PSA's connection fields (built from the template's own field list, so the form and
// the API agree on what is required), the threshold, what to do, and how long to stay in dry run.
import { api, get } from "../api.js";
import { h, say } from "../ui.js";

/// One labelled input for a PSA field; secrets are password inputs that are never filled back in.
function fieldInput(field) {
  const id = `rule-${field.name}`;
  const attributes = {
    id, name: field.name, required: field.required, autocomplete: field.kind === "secret" ? "new-password" : "off",
    type: { url: "url", number: "number", secret: "password" }[field.kind] ?? "text",
    placeholder: field.defaultValue ? `default ${field.defaultValue}` : field.required ? "" : "optional",
    "aria-describedby": field.help ? `${id}-help` : null, min: field.kind === "number" ? 0 : null,
  };
  return [h("label", { for: id }, field.label, field.required ? h("span", { class: "muted" }, " (required)") : null),
    h("input", attributes), field.help ? h("p", { class: "hint", id: `${id}-help` }, field.help) : null];
}

export async function ruleForm(view, templateId) {
  const { templates } = await get("rules", "/v1/rule-templates");
  const template = templates.find((t) => t.id === templateId);
  if (!template) throw new Error(`There is no template ${templateId}.`);
  const days = template.trigger !== "failed-nights";
  const problem = h("p", { id: "rule-problem", class: "message", hidden: true, role: "alert" });
  const form = h("form", { class: "card", "aria-labelledby": "rule-title", novalidate: true },
    h("h1", { id: "rule-title" }, `Enable: ${template.name}`),
    h("p", { class: "muted" }, template.description),
    h("fieldset", {}, h("legend", {}, `${template.psa === "halopsa" ? "HaloPSA" : template.psa === "autotask" ? "Autotask" : "ConnectWise"} connection`),
      ...template.fields.flatMap(fieldInput),
      h("p", { class: "hint" }, "Secrets are encrypted at rest and never shown again.")),
    h("fieldset", {}, h("legend", {}, "When and what"),
      h("label", { for: "rule-name" }, "Name"), h("input", { id: "rule-name", value: template.name }),
      h("label", { for: "rule-threshold" }, days ? "Act on day" : "Failed nights in a row"),
      h("input", { id: "rule-threshold", type: "number", min: 1, max: 30, value: template.defaultThresholdNights, required: true }),
      h("label", { for: "rule-action" }, "Action"),
      h("select", { id: "rule-action" }, ...template.actions.map((action) =>
        h("option", { value: action }, { ticket: "Open a ticket", retry: "Ask for a retry", both: "Ticket and retry" }[action]))),
      h("label", { class: "check" }, h("input", { id: "rule-close-on-recovery", type: "checkbox" }), " Close the ticket when backups recover (otherwise a note, and a technician closes it)"),
      h("label", { for: "rule-dry-run-hours" }, "Dry run (hours)"),
      h("input", { id: "rule-dry-run-hours", type: "number", min: 0, max: 8760, value: 24, "aria-describedby": "rule-dry-run-help" }),
      h("p", { class: "hint", id: "rule-dry-run-help" }, "During a dry run the rule records what it would do and calls nothing. 0 goes live at once.")),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "rule-enable" }, "Enable"),
      h("a", { class: "button secondary", href: "#/rules" }, "Cancel")),
    problem);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    const settings = {};
    const secrets = {};
    for (const field of template.fields) {
      const text = value(`rule-${field.name}`);
      if (text === "") continue;
      if (field.kind === "secret") secrets[field.name] = text;
      else settings[field.name] = field.kind === "number" ? Number(text) : text;
    }
    const body = {
      templateId, name: value("rule-name") || template.name, settings, secrets, action: value("rule-action"),
      thresholdNights: Number(value("rule-threshold")), closeOnRecovery: form.querySelector("#rule-close-on-recovery").checked,
      dryRunHours: Number(value("rule-dry-run-hours") || 0),
    };
    const answer = await api("rules", "/v1/rules", { method: "POST", body });
    if (answer.status === 201) location.hash = `#/rules/${answer.body.id}`;
    else say(problem, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
  });
  view.replaceChildren(form);
}
