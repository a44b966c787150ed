"""Image-level labels (multi-label classes, tags): the label session and its widget."""
