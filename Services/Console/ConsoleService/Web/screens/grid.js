// A customer's status grid: one row per agent, one cell per night (green success, amber partial, red failure,
// purple missed, blue offline, grey paused or no result). Each cell is a button: focus or hover shows what it
// stands for, Enter or a click lists that night's runs with their errors.
import { get } from "../api.js";
import { h, when } from "../ui.js";

export const statusWords = {
  success: "success", partial: "partial: some runs failed", failure: "failed", missed: "missed (no backup)",
  offline: "appliance offline", paused: "paused", none: "no result",
};

/// "96.7%", or a dash when no night was expected.
export function percent(rate) {
  return rate?.rate === undefined || rate?.rate === null ? "—" : `${(rate.rate * 100).toFixed(1)}%`;
}

function cellLabel(agent, cell) {
  const runs = cell.successes + cell.failures;
  const counts = runs > 0 ? ` (${runs} run${runs === 1 ? "" : "s"}, ${cell.failures} failed)` : "";
  return `${agent.name}, night of ${cell.night}: ${statusWords[cell.status] ?? cell.status}${counts}`;
}

/// The grid section of the customer hub; `load()` redraws it, keeping the panel the user opened.
export function gridSection(customerId, days = 30) {
  const summary = h("p", { id: "grid-rates", class: "muted" });
  const body = h("tbody");
  const head = h("thead");
  const panel = h("section", { id: "grid-panel", class: "card", hidden: true, "aria-live": "polite" });
  const legend = h("p", { class: "grid-legend", "aria-hidden": "true" },
    ...Object.entries(statusWords).map(([status, word]) => h("span", {}, h("span", { class: `cell state-${status}` }), ` ${word} `)));
  let open = null;

  async function showRuns(agent, cell) {
    open = { agentId: agent.agentId, night: cell.night };
    panel.hidden = false;
    panel.replaceChildren(h("h3", { id: "grid-panel-title" }, `${agent.name} — night of ${cell.night}`), h("p", { class: "muted" }, "Loading…"));
    const { runs } = await get("backups", `/v1/agents/${encodeURIComponent(agent.agentId)}/runs?night=${cell.night}&limit=50`);
    if (open?.agentId !== agent.agentId || open?.night !== cell.night) return;
    panel.replaceChildren(
      h("h3", { id: "grid-panel-title" }, `${agent.name} — night of ${cell.night}: ${statusWords[cell.status] ?? cell.status}`),
      runs.length === 0
        ? h("p", { class: "muted" }, cell.status === "none" ? "No result this night." : `No run this night (${statusWords[cell.status]}).`)
        : h("ul", { class: "grid-runs" }, ...runs.map((run) => h("li", { "data-run": String(run.id) },
          h("span", { class: `badge ${run.status === "success" ? "ok" : "bad"}` }, run.status), ` ${when(run.runAt)}`,
          run.errorMessage ? h("span", { class: "run-error" }, ` — ${run.errorMessage}`) : null))),
      h("button", { type: "button", class: "secondary", onclick: async () => { panel.hidden = true; open = null; } }, "Close"));
  }

  async function load() {
    const grid = await get("backups", `/v1/customers/${encodeURIComponent(customerId)}/grid?days=${days}`);
    summary.textContent = `Success rate: ${grid.rates.map((rate) => `${rate.nights} nights ${percent(rate)}`).join(" · ")}`
      + ` — nights change at ${String(grid.boundaryHour).padStart(2, "0")}:00 ${grid.timeZone}, several runs rolled up by ${grid.rollUp}.`;
    head.replaceChildren(h("tr", {}, h("th", { scope: "col" }, "Agent"),
      h("th", { scope: "col", class: "grid-nights" }, `${grid.nights[0]} → ${grid.nights[grid.nights.length - 1]} (tonight)`),
      h("th", { scope: "col" }, "30 nights")));
    body.replaceChildren(...grid.agents.map((agent) => h("tr", { "data-agent": agent.agentId },
      h("th", { scope: "row" }, agent.name, agent.isPaused ? " (paused)" : "", agent.isArchived ? " (archived)" : ""),
      h("td", { class: "grid-cells" }, ...agent.cells.map((cell) => h("button", {
        type: "button", class: `cell state-${cell.status}`, "data-night": cell.night, "data-status": cell.status,
        title: cellLabel(agent, cell), "aria-label": cellLabel(agent, cell), onclick: () => showRuns(agent, cell),
      }))),
      h("td", { "data-field": "rate-30" }, percent(agent.rates.find((rate) => rate.nights === 30))))));
    if (grid.agents.length === 0) body.replaceChildren(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No protected agents yet.")));
  }

  const wrap = h("div", { class: "table-wrap" }, h("table", { class: "grid" }, head, body));
  const element = h("section", { id: "grid", "aria-labelledby": "grid-title" },
    h("h2", { id: "grid-title" }, `Last ${days} nights`), summary, wrap, legend, panel);
  // On a narrow screen the table scrolls sideways: start at the newest nights, the ones that matter.
  const showNewest = () => { wrap.scrollLeft = wrap.scrollWidth; };
  return { element, load: async () => { await load(); requestAnimationFrame(showNewest); } };
}
