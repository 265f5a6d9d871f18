"""The clinic records: history, load curves, exercise results, reports, exports, visits."""
