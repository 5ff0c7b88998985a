"""Log formats: each turns a file's bytes into typed candidate events and rejected lines."""
