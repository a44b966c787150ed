// nblabel's keypoint and polyline review widget: the anywidget entry point (types, keys, the
// pure rules of model.ts and the view, one module each).
import "../../panel.css";
import "../../shapes.css";
import type { Render } from "@anywidget/types";
import type { ShapeTraits } from "./types";
import { ShapesView } from "./view";

const render: Render<ShapeTraits> = ({ model, el }) => {
  const view = new ShapesView(model, el);
  return () => view.dispose();
};

export default { render };
