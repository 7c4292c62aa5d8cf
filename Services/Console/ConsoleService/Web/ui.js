// Small DOM helpers: build elements without innerHTML (nothing from an API is ever parsed as HTML).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    // A handler's failure (a refused action) is shown, not lost as an unhandled rejection.
    if (name.startsWith("on")) element.addEventListener(name.slice(2), (event) => { value(event)?.catch?.(showProblem); });
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/// The same for SVG elements (which need their namespace): charts are drawn by the console itself, no library.
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== null && value !== undefined) element.setAttribute(name, value);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/// "2026-11-29 04:03" in the browser's time zone, or a dash.
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function showProblem(error) {
  const box = document.getElementById("problem");
  box.textContent = error?.message ?? String(error);
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, 8000);
}

/// Shows `text` in a message element as good or bad news.
export function say(element, ok, text) {
  element.className = `message ${ok ? "ok" : "bad"}`;
  element.textContent = text;
  element.hidden = false;
}

/// A table with header `columns` around `body` (a <tbody> the caller fills), scrolling sideways on a phone.
export function table(id, columns, body) {
  return h("div", { class: "table-wrap" }, h("table", { id }, h("thead", {}, h("tr", {},
    ...columns.map((column) => h("th", { scope: "col" }, column)))), body));
}
