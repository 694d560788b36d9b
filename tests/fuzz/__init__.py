"""Coverage-guided fuzz targets (atheris), run by `make fuzz`; pytest collects none of them (no test_*.py)."""
