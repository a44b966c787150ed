"""Reviewing: the session (queue, loading, decisions, undo, progress, sync) and the widget."""
