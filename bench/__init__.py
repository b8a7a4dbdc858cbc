"""Benchmarks run by `make bench`: each prints figures (name, value, unit, goal), never asserts."""
