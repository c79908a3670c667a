"""The pages of the main window and the kiosk: layout, and calls into the service through the task runner."""
