// Enable a template, or edit a rule in place: the PSA's connection fields (built from the template's own field
// list, so the form and the API agree on what is required), its board/queue, statuses and priority picked by
// name from the PSA's own lists, the threshold, what to do, and (new rules) how long to stay in dry run.
import { api, get } from "../api.js";
import { h, say } from "../ui.js";

/// One labelled input for a PSA field, holding the rule's value when editing. Secrets are password inputs that
/// are never filled back in: left empty, the saved one is kept.
function fieldInput(field, rule) {
  const id = `rule-${field.name}`;
  const secretSet = field.kind === "secret" && rule?.secretsSet.includes(field.name);
  const attributes = {
    id, name: field.name, required: field.required && !secretSet, autocomplete: field.kind === "secret" ? "new-password" : "off",
    type: { url: "url", number: "number", secret: "password" }[field.kind] ?? "text",
    placeholder: secretSet ? "set — leave empty to keep" : field.defaultValue ? `default ${field.defaultValue}` : field.required ? "" : "optional",
    "aria-describedby": field.help ? `${id}-help` : null, min: field.kind === "number" ? 0 : null,
    value: field.kind === "secret" ? null : rule?.settings[field.name] ?? null,
  };
  return [h("label", { for: id }, field.label, field.required && !secretSet ? h("span", { class: "muted" }, " (required)") : null),
    h("input", attributes), field.help ? h("p", { class: "hint", id: `${id}-help` }, field.help) : null];
}

/// Turns a PSA field's input into a pick list of the PSA tenant's own entries, keeping what was typed or chosen
/// (an id the PSA does not list stays, marked, rather than being silently dropped). A list already shown is
/// refilled in place, so a focused control is not swapped out under the user.
function pickList(form, field, choices, onchange) {
  const current = form.querySelector(`#rule-${field.name}`);
  const value = current.value.trim();
  const nameOf = (id) => choices.find((choice) => String(choice.id) === String(id))?.name ?? id;
  const empty = field.defaultValue ? `Default: ${nameOf(field.defaultValue)}` : field.required ? "Choose…" : "None";
  const options = [h("option", { value: "" }, empty),
    ...choices.map((choice) => h("option", { value: String(choice.id) }, `${choice.name} (${choice.id})`))];
  if (value && !choices.some((choice) => String(choice.id) === value)) options.push(h("option", { value }, `${value} (not in the PSA's list)`));
  let select = current;
  if (current.tagName !== "SELECT") {
    select = h("select", { id: current.id, name: field.name, required: field.required, "aria-describedby": current.getAttribute("aria-describedby"),
      onchange: onchange ?? null });
    current.replaceWith(select);
  }
  select.replaceChildren(...options);
  select.value = value;
}

export async function ruleForm(view, templateId) {
  await buildForm(view, templateId, null);
}

/// The same form for a saved rule: its tickets and history stay with it (a replacement rule would open a
/// second ticket for every problem still failing).
export async function ruleEdit(view, ruleId) {
  const rule = await get("rules", `/v1/rules/${ruleId}`);
  await buildForm(view, rule.templateId, rule);
}

async function buildForm(view, templateId, rule) {
  const [{ templates }, { channels }] = await Promise.all([get("rules", "/v1/rule-templates"), get("rules", "/v1/channels")]);
  const template = templates.find((t) => t.id === templateId);
  if (!template) throw new Error(`There is no template ${templateId}.`);
  const days = template.trigger !== "failed-nights";
  const psaName = { halopsa: "HaloPSA", autotask: "Autotask", connectwise: "ConnectWise" }[template.psa];
  const problem = h("p", { id: "rule-problem", class: "message", hidden: true, role: "alert" });
  const listsStatus = h("p", { id: "rule-lists-status", class: "message", hidden: true, role: "status" });
  const connection = template.fields.filter((field) => !field.picklist);
  const picked = template.fields.filter((field) => field.picklist);
  const form = h("form", { class: "card", "aria-labelledby": "rule-title", novalidate: true },
    h("h1", { id: "rule-title" }, rule ? `Edit: ${rule.name}` : `Enable: ${template.name}`),
    h("p", { class: "muted" }, template.description),
    h("fieldset", { class: "psa-part" }, h("legend", {}, `${psaName} connection`),
      ...connection.flatMap((field) => fieldInput(field, rule)),
      h("p", { class: "hint" }, "Secrets are encrypted at rest and never shown again.")),
    h("fieldset", { class: "psa-part" }, h("legend", {}, `Tickets in ${psaName}`),
      h("div", { class: "actions" }, h("button", { type: "button", id: "rule-load-lists", class: "secondary", onclick: () => loadLists() },
        `Load choices from ${psaName}`)),
      listsStatus,
      ...picked.flatMap((field) => fieldInput(field, rule))),
    h("fieldset", {}, h("legend", {}, "When and what"),
      h("label", { for: "rule-name" }, "Name"), h("input", { id: "rule-name", value: rule?.name ?? template.name }),
      h("label", { for: "rule-threshold" }, days ? "Act on day" : "Failed nights in a row"),
      h("input", { id: "rule-threshold", type: "number", min: 1, max: 30, value: rule?.thresholdNights ?? template.defaultThresholdNights, required: true }),
      h("label", { for: "rule-action" }, "Action"),
      h("select", { id: "rule-action", onchange: () => showPSA() }, ...template.actions.map((action) =>
        h("option", { value: action, selected: rule?.action === action },
          { ticket: "Open a ticket", retry: "Ask for a retry", both: "Ticket and retry", notify: "Only notify the channels below" }[action]))),
      h("label", { class: "check" }, h("input", { id: "rule-close-on-recovery", type: "checkbox", checked: rule?.closeOnRecovery ?? false }),
        " Close the ticket when backups recover (otherwise a note, and a technician closes it)"),
      h("label", { for: "rule-when-closed" }, "When a person closes the ticket while backups still fail"),
      h("select", { id: "rule-when-closed", "aria-describedby": "rule-when-closed-help" },
        ...[["reopen", "Reopen it with a note"], ["new-ticket", "Open a new ticket"], ["leave", "Leave it closed"]].map(([choice, label]) =>
          h("option", { value: choice, selected: (rule?.whenClosedByPerson ?? "reopen") === choice }, label))),
      h("label", { for: "rule-reopen-window" }, "Reopen window (days)"),
      h("input", { id: "rule-reopen-window", type: "number", min: 0, max: 90, value: rule?.reopenWindowDays ?? 7, "aria-describedby": "rule-when-closed-help" }),
      h("p", { class: "hint", id: "rule-when-closed-help" },
        "Within the window after a close (by a person, or by Vectis on recovery) a new failure reopens the ticket; after it, a new ticket names the old one. A deleted or merged ticket always gets a new one."),
      // A saved rule's dry run is switched on its page (Go live now).
      rule ? null : [h("label", { for: "rule-dry-run-hours" }, "Dry run (hours)"),
        h("input", { id: "rule-dry-run-hours", type: "number", min: 0, max: 8760, value: 24, "aria-describedby": "rule-dry-run-help" }),
        h("p", { class: "hint", id: "rule-dry-run-help" }, "During a dry run the rule records what it would do and calls nothing. 0 goes live at once.")]),
    h("fieldset", { id: "rule-notify" }, h("legend", {}, "Notify"),
      channels.length === 0
        ? h("p", { class: "hint" }, "No channel yet: add e-mail, Teams, Slack or a webhook under ", h("a", { href: "#/notifications" }, "Notifications"), ".")
        : channels.map((channel) => h("label", { class: "check" },
          h("input", { type: "checkbox", class: "rule-channel", value: channel.id, checked: rule?.notifyChannels.includes(channel.id) ?? false }),
          ` ${channel.name} (${channel.kind})`)),
      h("label", { class: "check" }, h("input", { id: "rule-notify-repeat", type: "checkbox", checked: rule?.notifyRepeat ?? false }),
        days ? " Also on each further day" : " Also on each further failed night"),
      h("p", { class: "hint" }, "Channels are told when the problem reaches the threshold and when it recovers, once each.")),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "rule-enable" }, rule ? "Save changes" : "Enable"),
      h("a", { class: "button secondary", href: rule ? `#/rules/${rule.id}` : "#/rules" }, "Cancel")),
    problem);

  const value = (id) => form.querySelector(`#${id}`).value.trim();
  /// A rule that only notifies needs no PSA connection: its fields are hidden (and not sent).
  function showPSA() {
    for (const part of form.querySelectorAll(".psa-part")) part.hidden = value("rule-action") === "notify";
  }
  showPSA();
  /// What the form holds for the PSA: settings, and secrets kept apart (they are sealed, never echoed).
  function psaValues() {
    const settings = {};
    const secrets = {};
    for (const field of template.fields) {
      const text = value(`rule-${field.name}`);
      if (text === "") continue;
      if (field.kind === "secret") secrets[field.name] = text;
      else settings[field.name] = field.kind === "number" ? Number(text) : text;
    }
    return { settings, secrets };
  }

  /// Reads the PSA tenant's boards/queues, statuses, priorities and types with the connection typed above, and
  /// offers them by name. A ConnectWise board's statuses are its own, so choosing a board reads them again.
  async function loadLists() {
    say(listsStatus, true, `Asking ${psaName}…`);
    // Editing: the saved connection fills in what is left empty (secrets are never sent back to the browser).
    const answer = await api("rules", "/v1/psa-picklists", { method: "POST", body: { psa: template.psa, rule: rule?.id, ...psaValues() } });
    if (answer.status !== 200) return say(listsStatus, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
    if (!answer.body.ok) return say(listsStatus, false, `${psaName} answered: ${answer.body.error}`);
    for (const field of picked) {
      const choices = answer.body.picklists[field.name];
      if (choices) pickList(form, field, choices, field.name === "boardId" ? () => loadLists() : null);
    }
    const waiting = template.psa === "connectwise" && !value("rule-boardId") ? " Choose a board to see its statuses." : "";
    say(listsStatus, true, `Choices loaded from ${psaName}.${waiting}`);
  }

  // A refusal is about what was sent: once the form changes, it no longer describes it.
  form.addEventListener("input", () => { problem.hidden = true; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { settings, secrets } = value("rule-action") === "notify" ? { settings: undefined, secrets: undefined } : psaValues();
    const notifyChannels = [...form.querySelectorAll(".rule-channel:checked")].map((box) => box.value);
    const body = {
      notifyChannels, notifyRepeat: form.querySelector("#rule-notify-repeat").checked,
      name: value("rule-name") || template.name, settings, secrets, action: value("rule-action"),
      thresholdNights: Number(value("rule-threshold")), closeOnRecovery: form.querySelector("#rule-close-on-recovery").checked,
      whenClosedByPerson: value("rule-when-closed"), reopenWindowDays: Number(value("rule-reopen-window")),
    };
    // Editing sends every setting (they replace the old ones, so a cleared field is cleared) and only the secrets typed.
    const answer = rule
      ? await api("rules", `/v1/rules/${rule.id}`, { method: "PATCH", body })
      : await api("rules", "/v1/rules", { method: "POST", body: { ...body, templateId, dryRunHours: Number(value("rule-dry-run-hours") || 0) } });
    if (answer.status === 201 || answer.status === 200) location.hash = `#/rules/${answer.body.id}`;
    else say(problem, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
  });
  view.replaceChildren(form);
}
