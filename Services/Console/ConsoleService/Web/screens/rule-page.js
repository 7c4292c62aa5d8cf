// One rule: what it does now (live, dry run, disabled) with the switches, which customer is which PSA company
// (the PSA's companies read on request and offered by name), a test ticket, the tickets it opened, and its history — every decision and PSA call, newest first.
import { api, get } from "../api.js";
import { h, say, table, when } from "../ui.js";
import { ruleState, ticketColumns, ticketRow } from "./rules.js";

export async function rulePage(view, ruleId) {
  const stateLine = h("p", { id: "rule-state" });
  const switches = h("div", { class: "actions" });
  const settingsList = h("dl", { id: "rule-settings" });
  const mappingRows = h("tbody");
  const ticketRows = h("tbody");
  const historyRows = h("tbody");
  const testCompany = h("input", { id: "test-company", autocomplete: "off", list: "psa-companies" });
  const testResult = h("p", { id: "test-result", class: "message", hidden: true, role: "status" });
  // The PSA's companies, once read: offered as suggestions in every company box, with the name shown beside it.
  const companyList = h("datalist", { id: "psa-companies" });
  const companyNames = new Map();
  const companiesStatus = h("p", { id: "companies-status", class: "message", hidden: true, role: "status" });
  const title = h("h1", {}, "Rule");
  let rule;

  async function change(body) {
    const answer = await api("rules", `/v1/rules/${ruleId}`, { method: "PATCH", body });
    if (answer.status >= 400) throw new Error(answer.body?.error ?? `vectis-rules answered ${answer.status}`);
    await load();
  }

  // A poll and a switch's reload can overlap; only the newest answer is shown.
  let newest = 0;
  async function load() {
    const mine = ++newest;
    // One rule, not every rule: this page polls.
    const [found, { tickets }, { history }] = await Promise.all([
      get("rules", `/v1/rules/${ruleId}`), get("rules", `/v1/tickets?rule=${ruleId}`), get("rules", `/v1/rules/${ruleId}/history`)]);
    if (mine !== newest) return;
    rule = found;
    title.textContent = rule.name;
    stateLine.replaceChildren(h("span", { class: `badge ${rule.enabled && !rule.dryRun ? "ok" : ""}` }, ruleState(rule)), " ",
      rule.enabled && rule.dryRun ? "— records what it would do and calls nothing." : "",
      rule.secretsProblem ? h("span", { class: "message bad" }, rule.secretsProblem) : "");
    switches.replaceChildren(...[
      rule.enabled && rule.dryRun ? h("button", { type: "button", id: "rule-go-live", onclick: () => change({ dryRunHours: 0 }) }, "Go live now") : null,
      h("button", { type: "button", id: "rule-toggle", class: "secondary", onclick: () => change({ enabled: !rule.enabled }) },
        rule.enabled ? "Disable" : "Enable"),
      h("a", { class: "button secondary", id: "rule-edit", href: `#/rules/${ruleId}/edit` }, "Edit")].filter(Boolean));
    settingsList.replaceChildren(
      h("dt", {}, "Trigger"), h("dd", {}, `${rule.trigger}, threshold ${rule.thresholdNights}`),
      h("dt", {}, "Action"), h("dd", {}, `${rule.action}${rule.closeOnRecovery ? ", closes on recovery" : ""}`),
      h("dt", {}, "Notifies"), h("dd", { id: "rule-notifies" }, rule.notifyChannels.length === 0 ? "no channel"
        : `${rule.notifyChannels.join(", ")}${rule.notifyRepeat ? ", each further night too" : ", on open and recovery"}`),
      h("dt", {}, "When a person closes its ticket"), h("dd", { id: "rule-when-closed" },
        `${{ reopen: "reopen", "new-ticket": "open a new ticket", leave: "leave it closed" }[rule.whenClosedByPerson]}; reopen window ${rule.reopenWindowDays} days`),
      ...Object.entries(rule.settings).flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, String(value))]),
      h("dt", {}, "Secrets set"), h("dd", {}, rule.secretsSet.join(", ") || "none"));
    ticketRows.replaceChildren(...tickets.map(ticketRow));
    historyRows.replaceChildren(...history.map((entry) => h("tr", {},
      h("td", {}, when(entry.at)), h("td", {}, entry.kind), h("td", {}, entry.detail),
      h("td", {}, entry.status ? `HTTP ${entry.status}${entry.durationMs !== undefined ? `, ${entry.durationMs} ms` : ""}` : ""),
      h("td", {}, entry.dryRun ? "dry run" : ""))));
  }

  /// Customers and their company in this rule's PSA: without one, no ticket is opened for that customer.
  async function loadMappings() {
    const [{ customers }, { mappings }] = await Promise.all([
      get("assets", "/v1/customers"), get("rules", `/v1/psa-mappings?psa=${rule.psa}`)]);
    const companyOf = new Map(mappings.map((m) => [m.customerId, m.companyId]));
    mappingRows.replaceChildren(...customers.map((customer) => {
      const input = h("input", { id: `company-${customer.id}`, value: companyOf.get(customer.id) ?? "", autocomplete: "off",
        placeholder: "not mapped", list: "psa-companies", "data-customer-name": customer.name });
      const saved = h("span", { class: "muted", role: "status" });
      input.addEventListener("input", () => showCompanyName(input));
      const save = async () => {
        if (!input.value.trim()) { saved.textContent = "Give the company id first."; return; }
        const answer = await api("rules", `/v1/psa-mappings/${rule.psa}/${encodeURIComponent(customer.id)}`,
          { method: "PUT", body: { companyId: input.value.trim() } });
        saved.textContent = answer.status === 200 ? "Saved" : answer.body?.error ?? `vectis-rules answered ${answer.status}`;
      };
      return h("tr", { "data-customer": customer.id },
        h("td", {}, h("label", { for: input.id }, customer.name)),
        h("td", {}, input, " ", h("span", { class: "muted", "data-company-name": "" })),
        h("td", {}, h("button", { type: "button", class: "secondary", onclick: save }, "Save"), " ", saved));
    }));
  }

  /// The id of the one PSA company named like the customer (ignoring case), or nothing — two of that name is no match.
  function sameName(customerName) {
    const matches = [...companyNames].filter(([, name]) => name.trim().toLowerCase() === customerName.trim().toLowerCase());
    return matches.length === 1 ? matches[0][0] : undefined;
  }

  /// The PSA's name for the id in `input` (or, for an unmapped customer, a company of the same name to pick).
  function showCompanyName(input) {
    const label = input.parentElement.querySelector("[data-company-name]");
    const id = input.value.trim();
    if (id) { label.textContent = companyNames.get(id) ?? (companyNames.size ? "not in the PSA's list" : ""); return; }
    const same = sameName(input.dataset.customerName);
    label.textContent = same ? `same name in ${rule.psa}: ${same}` : "";
  }

  /// Maps every unmapped customer to the PSA company of its own name: most MSPs name them alike, and a hundred
  /// customers should not take a hundred clicks. Customers already mapped are left as they are.
  const mapSameNames = async () => {
    let mapped = 0;
    for (const row of mappingRows.querySelectorAll("tr")) {
      const input = row.querySelector("input");
      const company = input.value.trim() ? undefined : sameName(input.dataset.customerName);
      if (!company) continue;
      const answer = await api("rules", `/v1/psa-mappings/${rule.psa}/${encodeURIComponent(row.dataset.customer)}`,
        { method: "PUT", body: { companyId: company } });
      if (answer.status !== 200) return say(companiesStatus, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
      input.value = company;
      showCompanyName(input);
      row.querySelector("[role=status]").textContent = "Saved";
      mapped += 1;
    }
    say(companiesStatus, true, mapped
      ? `Mapped ${mapped} customer${mapped === 1 ? "" : "s"} to the ${rule.psa} company of the same name.`
      : "No unmapped customer has a company of the same name.");
  };
  const mapSameNamesButton = h("button", { type: "button", id: "map-same-names", class: "secondary", hidden: true, onclick: mapSameNames },
    "Map customers to same-name companies");

  /// Reads the PSA's companies with the rule's saved connection (its secrets stay in vectis-rules).
  const loadCompanies = async () => {
    say(companiesStatus, true, "Asking the PSA…");
    const answer = await api("rules", "/v1/psa-picklists", { method: "POST", body: { rule: ruleId } });
    if (answer.status !== 200) return say(companiesStatus, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
    if (!answer.body.ok) return say(companiesStatus, false, `The PSA answered: ${answer.body.error}`);
    companyNames.clear();
    for (const company of answer.body.companies) companyNames.set(company.id, company.name);
    companyList.replaceChildren(...answer.body.companies.map((company) => h("option", { value: company.id }, company.name)));
    for (const input of mappingRows.querySelectorAll("input")) showCompanyName(input);
    mapSameNamesButton.hidden = false;
    say(companiesStatus, true, `${answer.body.companies.length} companies read${answer.body.companiesTruncated
      ? " (the PSA has more: type the id of any other)" : ""}.`);
  };

  const sendTest = async () => {
    if (!testCompany.value.trim()) return say(testResult, false, "Give the PSA company to open the test ticket in.");
    const answer = await api("rules", `/v1/rules/${ruleId}/test-ticket`, { method: "POST", body: { companyId: testCompany.value.trim() } });
    if (answer.body?.ok) say(testResult, true, `Test ticket #${answer.body.ticketId} opened.`);
    else say(testResult, false, answer.body?.error ?? `vectis-rules answered ${answer.status}`);
  };

  await load();
  view.replaceChildren(title, h("section", { class: "card", "aria-label": "State" }, stateLine, switches, settingsList),
    h("h2", {}, "Customers → companies"),
    h("p", { class: "muted" }, "A customer is ticketed only once it has a company in this PSA."),
    h("div", { class: "actions" }, h("button", { type: "button", id: "load-companies", class: "secondary", onclick: loadCompanies },
      "Load companies from the PSA"), mapSameNamesButton),
    companiesStatus, companyList,
    table("mappings", ["Customer", "Company id", ""], mappingRows),
    h("section", { class: "card", "aria-labelledby": "test-title" }, h("h2", { id: "test-title" }, "Send a test ticket"),
      h("label", { for: "test-company" }, "Company id"), testCompany,
      h("div", { class: "actions" }, h("button", { type: "button", id: "test-send", class: "secondary", onclick: sendTest }, "Send test ticket")),
      testResult),
    h("h2", {}, "Tickets opened"), table("rule-tickets", ticketColumns, ticketRows),
    h("h2", {}, "History"), table("history", ["When", "What", "Detail", "PSA call", ""], historyRows));
  await loadMappings();
  return load;
}
