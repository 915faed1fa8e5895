"""Read-only queries: reports, verify, and the documents answers are built from."""
