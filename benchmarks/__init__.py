"""Benchmarks of issue 5 (ingest, reingest, query, chat); see docs/benchmarks.md."""
