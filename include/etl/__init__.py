"""NK Dash ETL library: plain, typed Python that runs and tests without Airflow."""
