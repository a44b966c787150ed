"""Keypoints and polylines: the shape session (journal, undo, help that steps back) and the
shapes widget."""
