"""The benchmark harness: `make bench` (`python -m bench`) measures the API against a trivial view."""
