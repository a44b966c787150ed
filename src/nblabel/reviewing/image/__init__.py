"""Image review: boxes, masks and image classes on one image at a time (the widget, the rows it
shows, images sent ahead, click to mask, help that measures itself)."""
