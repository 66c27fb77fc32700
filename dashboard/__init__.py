"""NK Dash KPI dashboard: a Dash app that reads the Parquet lake through DuckDB views."""
