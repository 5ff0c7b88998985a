"""Every path and byte on disk: partition layout, atomic Parquet writes, the catalog, DuckDB access."""
