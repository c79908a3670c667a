"""Devices and files to raw arrays: image files, pen strokes, cameras."""
