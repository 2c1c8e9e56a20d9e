"""DAG Studio's desktop GUI (PySide6). The only package that imports Qt; ``app.run_gui`` starts it."""
