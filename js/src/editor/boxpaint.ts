// Boxes on a kind's canvas, drawn one way for every kind (video tracks, volume slices): the
// status's colour from the contract, the selected one thicker, rejected ones dashed, a mask's
// outline tinted, the box being dragged or drawn where the pointer has it. Sizes are in screen
// pixels (`px` turns them into image pixels at the current zoom).
import type { BoxDrag } from "./boxedit";
import { ADDED, REJECTED, statusColour } from "./contract";
import type { Box4 } from "./view";

export interface PaintedBox {
  key: string;
  box: Box4;
  status: number;
  text: string;
  outline?: [number, number][] | null;
}

export function paintBoxes(ctx: CanvasRenderingContext2D, boxes: readonly PaintedBox[],
  selected: string, drag: BoxDrag | null, px: (n: number) => number): void {
  ctx.font = `${px(12)}px sans-serif`;
  for (const b of boxes) {
    const box = drag && drag.key === b.key ? drag.box : b.box;
    ctx.lineWidth = px(b.key === selected ? 3 : 1.5);
    ctx.strokeStyle = statusColour(b.status);
    ctx.setLineDash(b.status === REJECTED ? [px(6), px(4)] : []);
    ctx.strokeRect(box[0], box[1], box[2], box[3]);
    if (b.outline && b.outline.length > 2 && b.status !== REJECTED) {
      ctx.beginPath();
      b.outline.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.closePath();
      ctx.globalAlpha = 0.3;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(b.text, box[0] + px(2), box[1] - px(3));
  }
  ctx.setLineDash([]);
  if (drag && drag.kind === "draw") {
    ctx.strokeStyle = statusColour(ADDED);
    ctx.lineWidth = px(1.5);
    ctx.strokeRect(...drag.box);
  }
}
