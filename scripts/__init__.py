"""Operational scripts: `demo.sh`, `stop.sh` and the process helpers they share with the tests."""
