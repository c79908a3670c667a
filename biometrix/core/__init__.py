"""Pure domain: types, distances, templates, matching, thresholds and metrics (stdlib + numpy only)."""
