// Notifications: channels besides the PSA (e-mail, Teams, Slack, signed webhooks) with how their last delivery went,
// the Test and "Send digest now" buttons, a form to add or change one, and what was sent.
import { api, get } from "../api.js";
import { h, say, table, when } from "../ui.js";

const kindNames = { email: "E-mail", teams: "Microsoft Teams", slack: "Slack", webhook: "Signed webhook" };

/// The inputs each kind needs: [id, label, type, where (settings or secrets), help].
const kindFields = {
  email: [
    ["smtpHost", "SMTP server", "text", "settings", "e.g. smtp.office365.com"],
    ["smtpPort", "Port", "number", "settings", "587 with STARTTLS (default), 465 with TLS"],
    ["smtpSecurity", "Encryption", "select:starttls=STARTTLS (port 587),tls=TLS (port 465)", "settings", "Mail and passwords never travel unencrypted."],
    ["smtpUsername", "User name", "text", "settings", "optional: leave empty for a relay without AUTH"],
    ["smtpPassword", "Password", "password", "secrets", ""],
    ["from", "From", "email", "settings", ""],
    ["to", "To (comma-separated)", "text", "settings", "up to 20 addresses"],
  ],
  teams: [
    ["webhookURL", "Incoming webhook address", "password", "secrets", "From Teams Workflows (\"Post to a channel when a webhook request is received\")."],
    ["teamsFormat", "Format", "select:adaptive-card=Adaptive Card (Workflows),message-card=MessageCard (Office 365 connector)", "settings", ""],
  ],
  slack: [["webhookURL", "Incoming webhook address", "password", "secrets", "https://hooks.slack.com/services/…"]],
  webhook: [
    ["webhookURL", "Address", "password", "secrets", "Receives JSON, signed: X-Vectis-Signature: sha256=HMAC(secret, timestamp + \".\" + body). Kept like a password."],
    ["signingSecret", "Signing secret", "password", "secrets", "16 characters or more; the receiver checks the signature with it."],
  ],
};

function channelStatus(channel) {
  const text = { ok: "Delivered", failing: "Failing", untested: "Not tried yet" }[channel.status] ?? channel.status;
  return h("span", {}, h("span", { class: `badge ${channel.status === "ok" ? "ok" : channel.status === "failing" ? "bad" : ""}` }, text),
    channel.status === "failing" && channel.lastError ? h("span", { class: "muted" }, ` ${channel.lastError}`) : null,
    channel.waiting > 0 ? h("span", { class: "muted" }, ` (${channel.waiting} waiting)`) : null);
}

export async function notifications(view) {
  const channelRows = h("tbody");
  const sentRows = h("tbody");
  const message = h("p", { id: "channel-message", class: "message", hidden: true, role: "status" });
  const formHolder = h("div", { id: "channel-form-holder" });

  async function load() {
    const [{ channels }, { notifications: sent }] = await Promise.all([get("rules", "/v1/channels"), get("rules", "/v1/notifications?limit=50")]);
    channelRows.replaceChildren(...channels.map((channel) => h("tr", { "data-channel": channel.id },
      h("td", {}, channel.name), h("td", {}, kindNames[channel.kind] ?? channel.kind),
      h("td", {}, channel.digestAt ? `${channel.digestAt} ${channel.digestTimeZone}` : "—"), h("td", {}, `${channel.ratePerHour} per hour`),
      h("td", { class: "channel-status" }, channelStatus(channel)),
      h("td", {}, h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", "aria-label": `Test ${channel.name}`, onclick: () => test(channel) }, "Test"),
        h("button", { type: "button", class: "secondary", "aria-label": `Send the digest to ${channel.name} now`, onclick: () => digest(channel) }, "Send digest now"),
        h("button", { type: "button", class: "secondary", "aria-label": `Edit ${channel.name}`, onclick: () => showForm(channel) }, "Edit"),
        h("button", { type: "button", class: "secondary", "aria-label": `Delete ${channel.name}`, onclick: () => remove(channel) }, "Delete"))))));
    if (channels.length === 0) channelRows.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No channel yet: add one below.")));
    const names = Object.fromEntries(channels.map((channel) => [channel.id, channel.name]));
    sentRows.replaceChildren(...sent.map((note) => h("tr", { "data-notification": note.id },
      h("td", {}, when(note.sentAt ?? note.createdAt)), h("td", {}, names[note.channelId] ?? note.channelId), h("td", {}, note.event),
      h("td", {}, note.title), h("td", {}, note.state === "pending" && note.lastError ? `waiting: ${note.lastError}` : note.state))));
    if (sent.length === 0) sentRows.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "Nothing sent yet.")));
  }

  async function test(channel) {
    say(message, true, `Sending a test message to ${channel.name}…`);
    const answer = await api("rules", `/v1/channels/${channel.id}/test`, { method: "POST", body: {} });
    if (answer.status !== 200) say(message, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
    else if (answer.body.ok) say(message, true, `Delivered a test message to ${channel.name}.`);
    else say(message, false, `Not delivered to ${channel.name}: ${answer.body.error}`);
    await load();
  }

  async function digest(channel) {
    const answer = await api("rules", `/v1/channels/${channel.id}/digest`, { method: "POST", body: {} });
    say(message, answer.status === 202, answer.status === 202 ? `Digest queued for ${channel.name}.` : answer.body?.error ?? `vectis-rules answered ${answer.status}`);
    await load();
  }

  async function remove(channel) {
    if (!confirm(`Delete ${channel.name}? Its history goes with it.`)) return;
    const answer = await api("rules", `/v1/channels/${channel.id}`, { method: "DELETE" });
    say(message, answer.status === 204, answer.status === 204 ? `Deleted ${channel.name}.` : answer.body?.error ?? `vectis-rules answered ${answer.status}`);
    await load();
  }

  /// The form to add a channel, or to change one (`channel`): secrets are never filled back in — left empty, kept.
  function showForm(channel) {
    const problem = h("p", { id: "channel-problem", class: "message", hidden: true, role: "alert" });
    const fields = h("div", { id: "channel-fields" });
    const kindSelect = h("select", { id: "channel-kind", disabled: Boolean(channel), onchange: () => drawFields() },
      ...Object.entries(kindNames).map(([kind, name]) => h("option", { value: kind, selected: channel?.kind === kind }, name)));
    function drawFields() {
      const kind = kindSelect.value;
      fields.replaceChildren(...kindFields[kind].flatMap(([id, label, type, where, help]) => {
        const inputId = `channel-${id}`;
        const secretSet = where === "secrets" && channel?.secretsSet.includes(id);
        const saved = where === "settings" ? channel?.settings[id] : null;
        let input;
        if (type.startsWith("select:")) {
          input = h("select", { id: inputId }, ...type.slice(7).split(",").map((pair) => {
            const [value, name] = pair.split("=");
            return h("option", { value, selected: saved === value }, name);
          }));
        } else {
          input = h("input", { id: inputId, type, autocomplete: type === "password" ? "new-password" : "off",
            value: Array.isArray(saved) ? saved.join(", ") : saved ?? null, placeholder: secretSet ? "set — leave empty to keep" : null,
            "aria-describedby": help ? `${inputId}-help` : null });
        }
        return [h("label", { for: inputId }, label), input, help ? h("p", { class: "hint", id: `${inputId}-help` }, help) : null];
      }));
    }
    const form = h("form", { class: "card", id: "channel-form", "aria-labelledby": "channel-form-title", novalidate: true },
      h("h2", { id: "channel-form-title" }, channel ? `Change ${channel.name}` : "Add a channel"),
      h("label", { for: "channel-kind" }, "Kind"), kindSelect,
      h("label", { for: "channel-name" }, "Name"), h("input", { id: "channel-name", value: channel?.name ?? "", required: true }),
      fields,
      h("label", { for: "channel-digest-at" }, "Daily digest at (HH:MM, empty for none)"),
      h("input", { id: "channel-digest-at", value: channel?.digestAt ?? "", placeholder: "07:30", "aria-describedby": "channel-digest-help" }),
      h("label", { for: "channel-time-zone" }, "Time zone"),
      h("input", { id: "channel-time-zone", value: channel?.digestTimeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC",
        "aria-describedby": "channel-digest-help" }),
      h("p", { class: "hint", id: "channel-digest-help" }, "One message a day listing every customer with failing or missed agents."),
      h("label", { for: "channel-rate" }, "At most (messages per hour)"),
      h("input", { id: "channel-rate", type: "number", min: 1, max: 600, value: channel?.ratePerHour ?? 30 }),
      h("div", { class: "actions" }, h("button", { type: "submit", id: "channel-save" }, channel ? "Save changes" : "Add channel"),
        h("button", { type: "button", class: "secondary", onclick: () => formHolder.replaceChildren() }, "Cancel")),
      problem);
    drawFields();
    form.addEventListener("input", () => { problem.hidden = true; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const kind = kindSelect.value;
      const settings = {};
      const secrets = {};
      for (const [id, , type, where] of kindFields[kind]) {
        const text = form.querySelector(`#channel-${id}`).value.trim();
        if (text === "") continue;
        const value = id === "to" ? text.split(",").map((address) => address.trim()).filter(Boolean) : type === "number" ? Number(text) : text;
        (where === "secrets" ? secrets : settings)[id] = value;
      }
      const body = {
        name: form.querySelector("#channel-name").value.trim(), settings, secrets, digestAt: form.querySelector("#channel-digest-at").value.trim(),
        digestTimeZone: form.querySelector("#channel-time-zone").value.trim() || "UTC", ratePerHour: Number(form.querySelector("#channel-rate").value),
      };
      const answer = channel
        ? await api("rules", `/v1/channels/${channel.id}`, { method: "PATCH", body })
        : await api("rules", "/v1/channels", { method: "POST", body: { ...body, kind, digestAt: body.digestAt || undefined } });
      if (answer.status !== 200 && answer.status !== 201) return say(problem, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
      formHolder.replaceChildren();
      say(message, true, `${channel ? "Saved" : "Added"} ${answer.body.name}. Use Test to check it.`);
      await load();
    });
    formHolder.replaceChildren(form);
    form.querySelector("#channel-name").focus();
  }

  view.replaceChildren(h("h1", {}, "Notifications"),
    h("p", { class: "muted" }, "Besides PSA tickets, rules can tell these channels when a problem opens, repeats and recovers (choose them on a rule's form)."),
    message,
    table("channels", ["Channel", "Kind", "Digest", "Rate", "Status", ""], channelRows),
    h("div", { class: "actions" }, h("button", { type: "button", id: "channel-add", onclick: () => showForm(null) }, "Add a channel")),
    formHolder,
    h("h2", {}, "Recently sent"),
    table("notifications", ["At", "Channel", "Event", "Title", "State"], sentRows));
  await load();
  return load;
}
