"""A pytest plugin loaded before Django reads its settings: under pytest-xdist, each worker gets a Redis
database of its own (REDIS_URL's database + the worker's number), so that one worker's FLUSHDB between
tests never empties another's stamps, records or buckets. PostgreSQL needs nothing: pytest-django
already gives each worker its own test database."""

import os
import re

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_url = os.environ.get("REDIS_URL", "")
if _worker.startswith("gw") and _url:
    number = int(_worker[2:])
    match = re.fullmatch(r"(redis://[^/]+)/?(\d*)", _url)
    if match is None:
        raise RuntimeError("Under pytest-xdist, REDIS_URL must look like redis://host:port/<db>.")
    base = int(match.group(2) or 0)
    os.environ["REDIS_URL"] = f"{match.group(1)}/{base + number}"
