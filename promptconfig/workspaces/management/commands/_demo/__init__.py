"""The demo data `seed_demo` creates, one module per kind of data (a package, so Django lists no command here)."""
