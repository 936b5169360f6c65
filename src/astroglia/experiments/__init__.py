"""Experiments: compositions of data, networks, training algorithms and metrics into recorded runs."""
