// nblabel's video review widget: the anywidget entry point (types, keys, timeline, frames and
// the view, one module each).
import "../../panel.css";
import "../../video.css";
import type { Render } from "@anywidget/types";
import type { VideoTraits } from "./types";
import { VideoView } from "./view";

const render: Render<VideoTraits> = ({ model, el }) => {
  const view = new VideoView(model, el);
  return () => view.dispose();
};

export default { render };
