// Small DOM helpers: build elements without innerHTML (nothing from an API is ever parsed as HTML).

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
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
