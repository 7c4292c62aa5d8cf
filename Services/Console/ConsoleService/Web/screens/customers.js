// Customers, and a customer's hub with its Backups section: one card per agent and the 10 most recent runs.
import { fetchFile, get, objectURL } from "../api.js";
import { h, say, svg, when } from "../ui.js";
import { gridSection, percent } from "./grid.js";

/// Customers with their counts and 30-night success rate; sorted by name or by rate (worst first), as chosen.
export async function customers(view) {
  const table = h("tbody");
  let order = "rate";
  const sortButton = h("button", { type: "button", class: "secondary", id: "sort-customers", onclick: async () => {
    order = order === "rate" ? "name" : "rate";
    await load();
  } });
  async function load() {
    const [{ customers }, rates] = await Promise.all([get("assets", "/v1/customers"), get("backups", "/v1/success-rates?nights=30")]);
    const byId = new Map(rates.customers.map((entry) => [entry.customerId, entry.rate]));
    const value = (customer) => byId.get(customer.id)?.rate ?? 2;
    const sorted = [...customers].sort((a, b) => order === "rate" ? value(a) - value(b) || a.name.localeCompare(b.name) : a.name.localeCompare(b.name));
    sortButton.textContent = order === "rate" ? "Sort by name" : "Sort by success rate (worst first)";
    table.replaceChildren(...sorted.map((customer) => h("tr", { "data-customer": customer.id },
      h("td", {}, h("a", { href: `#/customers/${encodeURIComponent(customer.id)}` }, customer.name)),
      h("td", {}, String(customer.devices)), h("td", {}, String(customer.agents)),
      h("td", {}, customer.failingAgents > 0 ? h("span", { class: "badge bad" }, `${customer.failingAgents} failing`) : h("span", { class: "badge ok" }, "OK")),
      h("td", { "data-field": "rate-30" }, percent(byId.get(customer.id))))));
  }
  view.replaceChildren(h("h1", {}, "Customers"), h("div", { class: "actions" }, sortButton), h("div", { class: "table-wrap" }, h("table", { id: "customers" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Customer"), h("th", { scope: "col" }, "Devices"),
      h("th", { scope: "col" }, "Agents"), h("th", { scope: "col" }, "Backups"),
      h("th", { scope: "col" }, "Success (30 nights)"))), table)));
  await load();
  return load;
}

/// "booted 28 Nov 02:10", "failed 28 Nov 02:10 — last success 20 Nov 02:10", "not verified yet".
function screenshotText(screenshot) {
  if (!screenshot) return "not verified yet";
  if (screenshot.succeeded) return `booted ${when(screenshot.lastAttemptAt)}`;
  return `failed ${when(screenshot.lastAttemptAt)} — last success ${screenshot.lastSuccessAt ? when(screenshot.lastSuccessAt) : "never"}`;
}

/// The agent's latest screenshot verification image, fetched through the collector (which holds the Datto key).
function screenshotImage(agent) {
  const image = h("img", { class: "screenshot", "data-field": "screenshot-image", alt: `Latest screenshot verification of ${agent.name}`, width: 240, height: 180 });
  const at = Math.floor(Date.parse(agent.screenshot.lastAttemptAt) / 1000);
  objectURL("collector", `/v1/screenshots/${encodeURIComponent(agent.deviceSerial)}/${encodeURIComponent(agent.volume)}?at=${at}`)
    .then((url) => { if (url) image.src = url; else image.replaceWith(h("p", { class: "muted" }, "Screenshot not available from Datto.")); })
    .catch(() => {});
  return image;
}

/// The last 30 days of local storage use as a line, 0–100%, with the 85% and 95% thresholds.
function storageChart(appliance) {
  const samples = appliance.storage.history ?? [];
  if (samples.length < 2) return null;
  const [width, height] = [300, 60];
  const times = samples.map((sample) => Date.parse(sample.at));
  const [first, last] = [Math.min(...times), Math.max(...times)];
  const x = (time) => last > first ? ((time - first) / (last - first)) * width : 0;
  const y = (percent) => height - (percent / 100) * height;
  const percent = (sample) => (sample.usedBytes / Math.max(1, sample.usedBytes + sample.availableBytes)) * 100;
  const points = samples.map((sample, index) => `${x(times[index]).toFixed(1)},${y(percent(sample)).toFixed(1)}`).join(" ");
  const from = Math.round(percent(samples[0]));
  const to = Math.round(percent(samples[samples.length - 1]));
  return svg("svg", { class: "storage-chart", "data-field": "storage-chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": `${appliance.name} local storage over ${Math.round((last - first) / 86400000)} days: from ${from}% to ${to}% used` },
    svg("line", { x1: 0, x2: width, y1: y(85), y2: y(85), class: "threshold" }),
    svg("line", { x1: 0, x2: width, y1: y(95), y2: y(95), class: "threshold high" }),
    svg("polyline", { points, class: "usage" }));
}

/// "91% used (4.1 of 4.5 TB), full in about 9 days".
function storageText(storage) {
  const tb = (bytes) => (bytes / 1e12).toFixed(1);
  return `${storage.percentUsed}% used (${tb(storage.usedBytes)} of ${tb(storage.usedBytes + storage.availableBytes)} TB), ${storage.projection}`;
}

/// The monthly report: a month, then the printable page (HTML) or its PDF, saved as a file.
function reportSection(id) {
  const now = new Date();
  const month = h("input", { id: "report-month", type: "month", value: `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`,
    "aria-describedby": "report-hint" });
  const status = h("p", { id: "report-status", class: "message", hidden: true, role: "status" });
  async function save(format) {
    say(status, true, "Preparing the report…");
    const answer = await fetchFile(`/v1/customers/${encodeURIComponent(id)}/report?month=${month.value}&format=${format}`);
    if (!answer.ok) return say(status, false, answer.error);
    const name = answer.name ?? `backup-report-${month.value}.${format}`;
    const link = h("a", { href: URL.createObjectURL(answer.blob), download: name, hidden: true }, name);
    document.body.append(link);
    link.click();
    link.remove();
    say(status, true, `Saved ${name} (${Math.max(1, Math.round(answer.blob.size / 1024))} KB).`);
  }
  return h("section", { id: "report", class: "card", "aria-labelledby": "report-title" },
    h("h2", { id: "report-title" }, "Monthly report"),
    h("label", { for: "report-month" }, "Month"), month,
    h("p", { class: "hint", id: "report-hint" }, "The customer's grid, success rate, problems, tickets and storage for the month, to hand over at a review."),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "report-pdf", onclick: () => save("pdf") }, "Download PDF"),
      h("button", { type: "button", class: "secondary", id: "report-html", onclick: () => save("html") }, "Download printable page (HTML)")),
    status);
}

export async function customerHub(view, id) {
  const cards = h("div", { class: "cards", id: "agent-cards" });
  const runs = h("tbody");
  const appliances = h("ul", { class: "appliances", id: "appliances" });
  const title = h("h1", {}, "Customer");
  const grid = gridSection(id);
  async function load() {
    const [hub] = await Promise.all([get("backups", `/v1/customers/${encodeURIComponent(id)}/backups`), grid.load()]);
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
      ...agent.conditions.filter((c) => c.headline !== agent.headline).map((c) => h("p", { class: `badge state-${c.type}` }, c.headline)),
      agent.screenshot ? screenshotImage(agent) : null)));
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
          h("span", { "data-field": "storage" }, ` ${storageText(appliance.storage)}`), storageChart(appliance)]
        : h("span", { class: "muted" }, " storage not reported yet"))));
    runs.replaceChildren(...hub.recentRuns.map((run) => h("tr", { "data-run": String(run.id) },
      h("td", {}, when(run.runAt)), h("td", {}, run.agentName),
      h("td", {}, h("span", { class: `badge ${run.status === "success" ? "ok" : "bad"}` }, run.status)),
      h("td", {}, run.errorMessage ?? ""))));
  }
  const report = reportSection(id);
  view.replaceChildren(title, grid.element, h("h2", {}, "Appliances"), appliances, h("h2", {}, "Backups"), cards, h("h2", {}, "10 most recent runs"),
    h("div", { class: "table-wrap" }, h("table", { id: "recent-runs" }, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Run"), h("th", { scope: "col" }, "Agent"), h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Error"))), runs)), report);
  await load();
  return load;
}
