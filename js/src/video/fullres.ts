// The full-resolution frame of a zoomed video view: the frames sent ahead are at most the
// contract's frame size, so a view zoomed past them asks Python for the frame shown at full
// resolution, once the reviewer has stayed on it for SETTLE_MS (stepping and playing at 25 fps
// draw the frames sent ahead and never wait on full frames they would not look at).
import { CONTRACT } from "../editor/contract";

const SETTLE_MS = 250;

export class FullFrame {
  private full: { frame: number; bitmap: ImageBitmap | null } | null = null;
  private timer = 0;
  /** When the frame shown last changed. */
  steppedAt = 0;

  /** `ask(frame)` sends the request; `repaint()` is called when a waited frame may be asked
   *  for or has arrived. */
  constructor(private ask: (frame: number) => void, private repaint: () => void) {}

  /** The full frame of `frame` when the view needs and has it (else null: draw the frame sent
   *  ahead). `scale`: canvas pixels per video pixel; `w`, `h`: the video's size. */
  get(frame: number, scale: number, w: number, h: number, playing: boolean): ImageBitmap | null {
    const sent = Math.min(1, CONTRACT.frame_max_side / Math.max(w, h));
    if (playing || scale <= sent * CONTRACT.full_res_after_scale) return null;
    if (this.full?.frame === frame) return this.full.bitmap;
    const still = performance.now() - this.steppedAt;
    if (still < SETTLE_MS) {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.repaint(), SETTLE_MS - still + 5);
      return null;
    }
    this.full?.bitmap?.close();
    this.full = { frame, bitmap: null };
    this.ask(frame);
    return null;
  }

  /** Python's full frame arrived (JPEG bytes). */
  arrived(frame: number, data: DataView): void {
    const blob = new Blob([data.buffer.slice(data.byteOffset, data.byteOffset
      + data.byteLength) as ArrayBuffer], { type: "image/jpeg" });
    void createImageBitmap(blob).then((bm) => {
      if (this.full?.frame !== frame) return bm.close();
      this.full.bitmap = bm;
      this.repaint();
    });
  }

  dispose(): void {
    window.clearTimeout(this.timer);
  }
}
