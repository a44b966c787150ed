// Small DOM helpers. Text always goes in as textContent, never as HTML.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = "",
  text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(className: string, text: string, title: string,
  onClick: () => void): HTMLButtonElement {
  const b = el("button", `nblabel-btn ${className}`, text);
  b.type = "button";
  b.title = title;
  b.tabIndex = -1;
  b.addEventListener("click", (e) => {
    e.preventDefault();
    onClick();
  });
  return b;
}
