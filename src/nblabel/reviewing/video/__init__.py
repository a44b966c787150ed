"""Video review by track: the track session (journal, undo) and the video widget."""
