"""The PostgreSQL backend: threads, users, archived messages and checkpoints shared by many replicas."""
