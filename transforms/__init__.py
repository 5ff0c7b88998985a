"""Pure DataFrame transforms: parsing, validation, metrics, forecasting, synthetic data."""
