// nblabel's image-level labels widget: the anywidget entry point (types, keys and the view).
import "../../panel.css";
import "../../labels.css";
import type { Render } from "@anywidget/types";
import type { LabelTraits } from "./types";
import { LabelsView } from "./view";

const render: Render<LabelTraits> = ({ model, el }) => {
  const view = new LabelsView(model, el);
  return () => view.dispose();
};

export default { render };
