import { describe, expect, it } from "vitest";
import { VOLUME_KEYS } from "../src/volume/keys";
import { dragWindow, grey, lut, paintGrey, toRaw, unshuffle } from "../src/volume/window";

describe("window/level", () => {
  it("maps the window linearly onto 0-255, as Python's to_display", () => {
    expect(grey(-160, 40, 400)).toBe(0);
    expect(grey(40, 40, 400)).toBe(128);
    expect(grey(240, 40, 400)).toBe(255);
    expect(grey(-1000, -600, 1500)).toBe(Math.round((350 * 255) / 1500));
  });

  it("paints int16 through the table and float32 directly, the same", () => {
    const raw = new Int16Array([-1000, 0, 40, 3000]);
    const a = new Uint8ClampedArray(16);
    const b = new Uint8ClampedArray(16);
    paintGrey(raw, a, 40, 400, lut(40, 400));
    paintGrey(new Float32Array(raw), b, 40, 400, null);
    expect([...a]).toEqual([...b]);
    expect([a[0], a[3], a[8], a[12]]).toEqual([0, 255, 128, 255]);
  });

  it("drags the width sideways and the centre up and down", () => {
    const [c, w] = dragWindow([40, 400], 64, -32);
    expect(w).toBeGreaterThan(400);
    expect(c).toBeGreaterThan(40);
    expect(dragWindow([40, 10], -1000, 0)[1]).toBe(1);
  });

  it("reads float32 buffers at an offset, and int16 from deflated byte planes", async () => {
    const buf = new ArrayBuffer(16);
    new Float32Array(buf).set([7, -3.5, 5, 9]);
    expect([...(await toRaw(new DataView(buf, 4, 8), "float32"))]).toEqual([-3.5, 5]);
    // -1000 and 300 as Python sends them: low bytes [0x18, 0x2c], high bytes [0xfc, 0x01].
    const planes = new Uint8Array([0x18, 0x2c, 0xfc, 0x01]);
    expect([...unshuffle(planes)]).toEqual([-1000, 300]);
    const deflated = await new Response(new Blob([planes]).stream()
      .pipeThrough(new CompressionStream("deflate"))).arrayBuffer();
    expect([...(await toRaw(new DataView(deflated), "int16z"))]).toEqual([-1000, 300]);
  });

  it("binds each preset to a digit", () => {
    expect(VOLUME_KEYS.action({ key: "2", ctrlKey: false, metaKey: false, shiftKey: false }))
      .toBe("preset_2");
  });
});
