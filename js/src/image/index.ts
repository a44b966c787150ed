// nblabel's review widget: the anywidget entry point. The widget is built from small modules by
// concern: types (what crosses to Python), protocol (messages), state, view (zoom/pan geometry),
// spatial (hit testing), renderer (canvas layers), pointer, keymap, imagecache, minimap, rowlist,
// chrome (the DOM around the image) and widget (the controller that wires them).
import "../../widget.css";
import type { Render } from "@anywidget/types";
import type { ModelTraits } from "./types";
import { ReviewView } from "./widget";

const render: Render<ModelTraits> = ({ model, el }) => {
  const view = new ReviewView(model, el);
  return () => view.dispose();
};

export default { render };
