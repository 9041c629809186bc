"""Benchmarks and acceptance figures measured on the whole data (``make bench``)."""
