// The fleet at a glance, the landing page after sign-in: what is wrong now, the ten worst customers over 30
// nights, open alerts by type, tickets opened this week, and the fleet's nightly success rate as a line.
import { get } from "../api.js";
import { h, svg } from "../ui.js";
import { percent } from "./grid.js";

const tiles = [
  ["failing", "Agents failing", "bad"], ["missed", "Missed backups", "bad"], ["offline", "Appliances offline", "bad"],
  ["screenshot", "Screenshots failing", "bad"], ["storage", "Storage filling up", "warn"],
];

/// Monday 00:00 of this week, local time: "opened this week".
function weekStart(now = new Date()) {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  start.setDate(start.getDate() - ((start.getDay() + 6) % 7));
  return start;
}

/// The fleet's nightly rate as an SVG line, 0–100%, one point per night; nights with nothing expected leave a gap.
function rateChart(nightly) {
  const [width, height, pad] = [600, 160, 24];
  const x = (index) => pad + (nightly.length > 1 ? (index / (nightly.length - 1)) * (width - 2 * pad) : 0);
  const y = (rate) => height - pad - rate * (height - 2 * pad);
  const segments = [];
  let current = [];
  nightly.forEach((night, index) => {
    if (night.rate === undefined || night.rate === null) { if (current.length) segments.push(current); current = []; return; }
    current.push(`${x(index).toFixed(1)},${y(night.rate).toFixed(1)}`);
  });
  if (current.length) segments.push(current);
  const rated = nightly.filter((night) => night.rate !== undefined && night.rate !== null);
  const low = rated.length ? Math.min(...rated.map((night) => night.rate)) : null;
  const label = rated.length
    ? `Fleet success rate over ${nightly.length} nights: from ${percent(rated[0])} to ${percent(rated[rated.length - 1])}, lowest ${(low * 100).toFixed(1)}%`
    : "No night with an expected backup yet";
  return svg("svg", { id: "fleet-rate-chart", class: "rate-chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label },
    ...[0, 0.5, 1].map((rate) => [
      svg("line", { x1: pad, x2: width - pad, y1: y(rate), y2: y(rate), class: "gridline" }),
      svg("text", { x: 2, y: y(rate) + 4, class: "axis" }, `${rate * 100}%`)]).flat(),
    ...segments.map((points) => points.length === 1
      ? svg("circle", { cx: points[0].split(",")[0], cy: points[0].split(",")[1], r: 3, class: "rate" })
      : svg("polyline", { points: points.join(" "), class: "rate" })),
    nightly.length ? svg("text", { x: pad, y: height - 4, class: "axis" }, nightly[0].night) : null,
    nightly.length ? svg("text", { x: width - pad, y: height - 4, class: "axis", "text-anchor": "end" }, nightly[nightly.length - 1].night) : null);
}

export async function dashboard(view) {
  const counts = h("div", { class: "tiles", id: "fleet-counts" });
  const worst = h("tbody");
  const alerts = h("tbody");
  const tickets = h("p", { id: "tickets-this-week" });
  const chart = h("div", { class: "card chart-card" });
  const rate = h("p", { id: "fleet-rate", class: "muted" });
  async function load() {
    const since = weekStart().toISOString();
    const [fleet, alertCounts, ticketList] = await Promise.all([
      get("backups", "/v1/fleet?nights=30"), get("alerts", "/v1/alert-counts"),
      get("rules", `/v1/tickets?since=${encodeURIComponent(since)}`)]);
    counts.replaceChildren(...tiles.map(([key, label, tone]) => h("a", {
      class: `tile ${fleet.counts[key] > 0 ? tone : "ok"}`, "data-count": key, href: key === "failing" || key === "missed" ? "#/alerts" : "#/customers" },
    h("strong", {}, String(fleet.counts[key])), h("span", {}, label))),
    h("div", { class: "tile", "data-count": "agents" }, h("strong", {}, String(fleet.counts.agents)), h("span", {}, "Agents watched")));
    rate.textContent = `Fleet success rate over ${fleet.rate.nights} nights: ${percent(fleet.rate)} (${fleet.rate.succeeded} of ${fleet.rate.expected} agent-nights).`;
    chart.replaceChildren(h("h2", {}, "Nightly success rate"), rate, rateChart(fleet.nightly));
    worst.replaceChildren(...fleet.worstCustomers.map((customer) => h("tr", { "data-customer": customer.customerId },
      h("td", {}, h("a", { href: `#/customers/${encodeURIComponent(customer.customerId)}` }, customer.name)),
      h("td", { "data-field": "rate" }, percent(customer.rate)), h("td", {}, `${customer.rate.succeeded} / ${customer.rate.expected}`))));
    if (fleet.worstCustomers.length === 0) worst.replaceChildren(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No customer has an expected backup yet.")));
    const types = Object.entries(alertCounts.byType).sort((a, b) => b[1] - a[1]);
    alerts.replaceChildren(...types.map(([type, count]) => h("tr", { "data-type": type },
      h("td", {}, h("a", { href: "#/alerts" }, type)), h("td", { "data-field": "count" }, String(count)))));
    if (types.length === 0) alerts.replaceChildren(h("tr", {}, h("td", { colspan: 2, class: "muted" }, "No open alerts.")));
    const opened = ticketList.tickets.length;
    tickets.textContent = `${opened} ticket${opened === 1 ? "" : "s"} opened this week (since Monday), ${ticketList.tickets.filter((t) => t.state === "open").length} still open.`;
  }
  view.replaceChildren(h("h1", {}, "Dashboard"), counts, chart,
    h("div", { class: "columns" },
      h("section", { class: "card", "aria-labelledby": "worst-title" }, h("h2", { id: "worst-title" }, "Ten worst customers (30 nights)"),
        h("div", { class: "table-wrap" }, h("table", { id: "worst-customers" }, h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Customer"), h("th", { scope: "col" }, "Success"), h("th", { scope: "col" }, "Nights"))), worst))),
      h("section", { class: "card", "aria-labelledby": "alerts-title" }, h("h2", { id: "alerts-title" }, "Open alerts by type"),
        h("div", { class: "table-wrap" }, h("table", { id: "alerts-by-type" }, h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Alerts"))), alerts)),
        h("h2", {}, "Tickets"), tickets)));
  await load();
  return load;
}
