import { describe, expect, it } from "vitest";
import { KEYMAP, helpRows, keyName, lookup } from "../src/image/keymap";

const ev = (key: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; altKey: boolean;
  metaKey: boolean; code: string }> = {}) => ({ key, code: "", ctrlKey: false, metaKey: false,
  altKey: false, shiftKey: false, ...mods });

describe("keymap", () => {
  it("names key events the way the keymap writes them", () => {
    expect(keyName(ev("Tab", { shiftKey: true }))).toBe("Shift+Tab");
    expect(keyName(ev("z", { ctrlKey: true }))).toBe("Ctrl+z");
    expect(keyName(ev("Z", { ctrlKey: true, shiftKey: true }))).toBe("Ctrl+Shift+Z");
    expect(keyName(ev("¡", { altKey: true, code: "Digit1" }))).toBe("Alt+1");
    expect(keyName(ev("A", { shiftKey: true }))).toBe("A");
  });

  it("maps keys to actions, with the index for numbered keys", () => {
    expect(lookup(ev("a"))).toEqual({ action: "accept", index: 0 });
    expect(lookup(ev("Delete"))!.action).toBe("reject");
    expect(lookup(ev("3"))).toEqual({ action: "relabel", index: 2 });
    expect(lookup(ev("@", { altKey: true, code: "Digit2" }))).toEqual({ action: "image_class", index: 1 });
    expect(lookup(ev("h"))!.action).toBe("hide_decided");
    expect(lookup(ev("q"))).toBeNull();
  });

  it("binds each key once and documents every binding", () => {
    const keys = KEYMAP.bindings.flatMap((b) => b.keys);
    expect(new Set(keys).size).toBe(keys.length);
    const help = helpRows();
    expect(help.length).toBe(KEYMAP.bindings.length + KEYMAP.mouse.length);
    expect(help.find(([, what]) => what === "undo")![0]).toBe("Ctrl+z");
    expect(help.every(([k, what]) => k.length > 0 && what.length > 0)).toBe(true);
  });
});
