// "Run All" leaves a notebook scrolled to its last cell, past the widget a reviewer came for.
// So, once: when the widget was on screen and the page scrolls it away with no scroll of the
// reviewer's own (no wheel, touch, scroll key or scrollbar drag) within a minute of its first
// render, it brings itself back into view after the scrolling settles.
const WINDOW_MS = 60_000;
const SETTLE_MS = 1_500;

export function stayInView(root: HTMLElement): () => void {
  const born = performance.now();
  let seen = false;
  let own = false;
  let done = false;
  let timer = 0;
  const mine = () => {
    own = true;
  };
  const events = ["wheel", "touchmove", "pointerdown"] as const;
  for (const e of events) window.addEventListener(e, mine, { capture: true, passive: true });
  const keys = (e: KeyboardEvent) => {
    if (["PageDown", "PageUp", "End", "Home", "ArrowDown", "ArrowUp", " "].includes(e.key)
      && !root.contains(e.target as Node)) own = true;
  };
  window.addEventListener("keydown", keys, { capture: true });
  const stop = () => {
    done = true;
    window.clearTimeout(timer);
    observer.disconnect();
    for (const e of events) window.removeEventListener(e, mine, { capture: true });
    window.removeEventListener("keydown", keys, { capture: true });
  };
  const observer = new IntersectionObserver((entries) => {
    const visible = entries.some((e) => e.isIntersecting);
    if (visible) seen = true;
    window.clearTimeout(timer);
    if (done || visible || !seen) return;
    timer = window.setTimeout(() => {
      if (!own && !done && performance.now() - born < WINDOW_MS && root.isConnected) {
        root.scrollIntoView({ block: "nearest" });
        root.dataset.broughtBack = "true";
      }
      stop();
    }, SETTLE_MS);
  });
  observer.observe(root);
  window.setTimeout(stop, WINDOW_MS);
  return stop;
}
