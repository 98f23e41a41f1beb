"""The SQLite backend: one file (or `:memory:`) holds threads, users, archived messages and checkpoints."""
