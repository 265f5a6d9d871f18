"""Helpers that tests and benchmarks share: a live server in a thread, the REST client, the
`rig` process. Never imported by the product."""
