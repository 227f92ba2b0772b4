"""IB fabric model, parsers, thresholds and verdicts."""
