"""The panels of the main window; each takes the ``Document`` in its constructor and listens to it."""
