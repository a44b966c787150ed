"""Reviewing: the shared editor (``editor/``: the base widget, the session, undo, sync, claims,
keys, the contract both sides read) and one package per label kind (``image/``, ``video/``,
``shapes/``, ``volume/``), mirrored by ``js/src/``."""
