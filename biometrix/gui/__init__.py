"""The PySide6 desktop app (teller window and kiosk); the only package that imports Qt, through ``gui.qt``."""
