"""Benchmarks: `make bench` (python -m benchmarks). Results and commands: docs/benchmarks.md."""
