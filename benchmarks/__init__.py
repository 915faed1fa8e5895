"""Benchmarks: run as `python -m benchmarks.<name>`; they print a table and take no timing
assertions (the machines are small and shared)."""
