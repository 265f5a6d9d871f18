"""The parts together: real pseudo-terminals, SQLite and PostgreSQL, the server in a thread or a
process."""
