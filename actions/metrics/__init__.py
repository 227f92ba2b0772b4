"""Metric queries dcops builds for its health actions: PromQL escaping, GPU health rules."""
