"""Profile a scenario in-process with pyinstrument: the same request through the WSGI application the
server runs (dcr_project.wsgi: the hot paths' lane, else Django's handler and middleware), against the
benchmark's database and Redis.

`BENCH_PROFILE=token,token_fleet,register make bench` writes bench/results/profile-<scenario>.txt."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import RequestFactory
from pyinstrument import Profiler

from .wrk import Request


class Answer:
    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content


def in_process(request: Request) -> Answer:
    """`request` through dcr_project.wsgi.application, the WSGI callable the server runs (the hot paths'
    lane included), as the server would hand it over (behind the TLS proxy production settings expect)."""
    from dcr_project.wsgi import application

    headers = dict(request.headers)
    content_type = headers.pop("Content-Type", "application/octet-stream")
    environ = (
        RequestFactory()
        .generic(request.method, request.path, data=request.body.encode(), content_type=content_type, headers=headers)
        .environ
    )
    if settings.SECURE_SSL_REDIRECT:
        environ.setdefault("HTTP_X_FORWARDED_PROTO", "https")
    answered: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answered["status"] = int(status.split(" ", 1)[0])

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return Answer(answered["status"], content)


def profile_scenarios(scenarios: dict[str, Any], names: list[str], *, requests: int, directory: Path) -> None:
    for name in names:
        scenario = scenarios.get(name)
        if scenario is None or scenario.request is None or scenario.missing or scenario.failed:
            print(f"[bench] profile {name}: not available", flush=True)
            continue
        for _ in range(5):
            in_process(scenario.example())
        # A fleet scenario's requests are each from a client picked at random: made before profiling.
        examples = [scenario.example() for _ in range(requests)]
        profiler = Profiler(interval=0.0002)
        profiler.start()
        statuses: dict[int, int] = {}
        for example in examples:
            status = in_process(example).status_code
            statuses[status] = statuses.get(status, 0) + 1
        session = profiler.stop()
        path = directory / f"profile-{name}.txt"
        header = (
            f"# {name}: {requests} requests in-process, {session.duration * 1000 / requests:.2f} ms wall clock and "
            f"{session.cpu_time * 1000 / requests:.2f} ms CPU each (profiler overhead included); statuses {statuses}\n"
            "# pyinstrument samples wall-clock time: waits on PostgreSQL and Redis show up as time spent.\n\n"
        )
        path.write_text(header + profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"[bench] profile {name}: {session.duration * 1000 / requests:.2f} ms/request -> {path}", flush=True)
