// What a widget has asked the kernel for and not received yet (video frames, volume slices),
// so each step asks only for what is neither here nor on its way; an answer lost is asked for
// again after `retryMs`.

export class Asked {
  private at = new Map<number, number>();

  constructor(private retryMs = 2000) {}

  /** It arrived: no longer waited for. */
  arrived(k: number): void {
    this.at.delete(k);
  }

  /** Of [lo, hi], those `held` does not hold and not asked for in the last `retryMs`; they
   *  count as asked from `now`. */
  missing(lo: number, hi: number, held: (k: number) => boolean,
    now = performance.now()): number[] {
    const out: number[] = [];
    for (let k = lo; k <= hi; k++) {
      const t = this.at.get(k);
      if (held(k) || (t !== undefined && now - t < this.retryMs)) continue;
      out.push(k);
      this.at.set(k, now);
    }
    return out;
  }
}
