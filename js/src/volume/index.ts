// nblabel's volume review widget (DICOM series, NIfTI): the anywidget entry point (types,
// keys, window/level and the view, one module each).
import "../../panel.css";
import "../../volume.css";
import type { Render } from "@anywidget/types";
import type { VolumeTraits } from "./types";
import { VolumeView } from "./view";

const render: Render<VolumeTraits> = ({ model, el }) => {
  const view = new VolumeView(model, el);
  return () => view.dispose();
};

export default { render };
