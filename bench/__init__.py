"""Benchmarks: the real app against the loopback fakes, printing tables (`make bench`)."""
