// Admin → Integrations: the Datto BCDR card — its sync status, Sync now, and Configure, which opens the form
// (public key, write-only secret key, region) with Test and Save, as the integration guide describes.
import { api } from "../api.js";
import { h, say, when } from "../ui.js";

/// "55% — 275 of 500 devices, 281 Datto requests, about 1 min 10 s left".
function progressText(progress) {
  const seconds = Math.round(progress.secondsLeft ?? -1);
  const left = seconds < 0 ? "" : seconds < 60 ? `, about ${seconds} s left` : `, about ${Math.floor(seconds / 60)} min ${seconds % 60} s left`;
  return `${progress.percent}% — ${progress.devicesRead} of ${progress.devicesTotal} devices, ${progress.requests} Datto requests${left}`;
}

export async function integrations(view) {
  let followUp = null;
  const listing = await api("collector", "/v1/integrations/datto");
  const current = (listing.body?.integrations ?? []).find((i) => i.isDefault) ?? listing.body?.integrations?.[0];

  const publicKey = h("input", { id: "datto-public-key", autocomplete: "off", value: current?.publicKey ?? "" });
  const secretKey = h("input", {
    id: "datto-secret-key", type: "password", autocomplete: "new-password",
    placeholder: current?.secretKeySet ? "set — leave empty to keep it" : "not set",
  });
  const region = h("select", { id: "datto-region" }, h("option", { value: "us" }, "US"), h("option", { value: "eu" }, "EU"));
  region.value = current?.region ?? "us";
  const result = h("p", { id: "datto-result", class: "message", hidden: true, role: "status" });
  const status = h("div", { id: "datto-status" });

  function settings() {
    const body = { publicKey: publicKey.value.trim(), region: region.value };
    if (secretKey.value.trim()) body.secretKey = secretKey.value.trim();
    return body;
  }
  async function showStatus() {
    const fresh = await api("collector", "/v1/integrations/datto");
    const integration = (fresh.body?.integrations ?? []).find((i) => i.isDefault) ?? fresh.body?.integrations?.[0];
    if (!integration) { status.replaceChildren(h("p", { class: "muted" }, "Not configured yet.")); return; }
    const counts = integration.counts ?? {};
    const progress = integration.status === "syncing" && integration.progress && !integration.progress.finishedAt ? integration.progress : null;
    status.replaceChildren(
      h("p", {}, h("span", { class: `badge ${integration.status === "ok" ? "ok" : integration.status === "syncing" ? "" : "bad"}`, id: "datto-sync-state" },
        integration.status), " ", `Secret key ${integration.secretKeySet ? "set" : "not set"}.`),
      h("p", { id: "datto-last-sync" }, `Last sync: ${when(integration.lastSyncAt)} — ${counts.devices ?? 0} devices, `
        + `${counts.agents ?? 0} agents and shares, ${counts.runsObserved ?? 0} backup runs, ${counts.requests ?? 0} Datto requests.`),
      ...(progress ? [h("div", { id: "datto-progress" },
        h("progress", { max: 100, value: progress.percent, "aria-label": "Sync progress", "aria-describedby": "datto-progress-text" }),
        h("p", { id: "datto-progress-text", class: "muted" }, progressText(progress)))] : []),
      ...(integration.saasStatus ? [h("p", { id: "datto-saas", class: "muted" }, integration.saasStatus)] : []),
      ...(integration.lastError ? [h("p", { class: "message bad", id: "datto-last-error" }, integration.lastError)] : []));
    // While a sync runs the bar moves every second, not only on the screen's 5-second refresh.
    if (progress && !followUp) followUp = setTimeout(() => { followUp = null; if (status.isConnected) showStatus().catch(() => {}); }, 1000);
  }

  const form = h("form", { id: "datto-form", "aria-label": "Configure Datto BCDR", hidden: true },
    h("label", { for: "datto-public-key" }, "Public key"), publicKey,
    h("label", { for: "datto-secret-key" }, "Secret key"), secretKey,
    h("label", { for: "datto-region" }, "Region"), region,
    h("p", { class: "hint" }, "From the Datto Partner Portal: Admin → Integrations → REST API, with the BCDR API scope."),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "datto-test", class: "secondary", onclick: async () => {
        const answer = await api("collector", "/v1/integrations/datto/test", { method: "POST", body: settings() });
        say(result, answer.body?.ok === true, answer.body?.message ?? answer.body?.error ?? `Test answered ${answer.status}`);
      } }, "Test"),
      h("button", { type: "submit", id: "datto-save" }, "Save")));
  const configure = h("button", { type: "button", id: "datto-configure", "aria-expanded": "false", "aria-controls": "datto-form",
    onclick: () => {
      form.hidden = !form.hidden;
      configure.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) publicKey.focus();
    } }, "Configure");
  const card = h("section", { class: "card", "aria-labelledby": "datto-title" },
    h("h2", { id: "datto-title" }, "Datto BCDR"),
    h("p", { class: "muted" }, "Appliances, protected agents and every backup run, from the Datto BCDR Partner API."),
    status,
    h("div", { class: "actions" }, configure,
      h("button", { type: "button", id: "datto-sync", class: "secondary", onclick: async () => {
        const answer = await api("collector", "/v1/integrations/datto/sync", { method: "POST", body: {} });
        if (answer.status === 202) say(result, true, `Sync ${answer.body.syncId} started.`);
        else say(result, false, answer.body?.error ?? `Sync answered ${answer.status}`);
        await showStatus();
      } }, "Sync now")),
    form, result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await api("collector", "/v1/integrations/datto", { method: "PUT", body: settings() });
    if (answer.status < 300) {
      secretKey.value = "";
      secretKey.placeholder = "set — leave empty to keep it";
      say(result, true, "Saved. The first sync has started.");
    } else {
      say(result, false, answer.body?.error ?? `Save answered ${answer.status}`);
    }
    await showStatus();
  });

  view.replaceChildren(h("h1", {}, "Admin → Integrations"), card);
  await showStatus();
  return showStatus;
}
