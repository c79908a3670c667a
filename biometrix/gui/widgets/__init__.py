"""Reusable widgets: signature pad, camera view, distance gauge, message bar, image helpers."""
