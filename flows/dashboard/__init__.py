"""`logcast dashboard`: an interactive Dash app over the warehouse, read-only."""
