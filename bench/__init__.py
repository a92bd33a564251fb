"""Benchmarks, run by hand (`python -m bench`, or `python -m bench.<name>` for one); not tests."""
