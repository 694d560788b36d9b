"""The Celery app, configured from Django settings (the CELERY_* names; the beat schedule is there too).

Run a worker with beat: `make worker` (or `celery -A dcr_project worker --beat`). Without REDIS_URL
the settings make every task run eagerly in the calling process, so no worker is needed.

Workers log as the web processes do (Django's LOGGING: plain text, or JSON in production), and a task
enqueued during a request logs with that request's id (core.request_log).
"""

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from core.request_log import task_request_id_enter, task_request_id_leave, task_request_id_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dcr_project.settings.local")

app = Celery("dcr_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

before_task_publish.connect(task_request_id_publish, weak=False, dispatch_uid="dcr-request-id-publish")
task_prerun.connect(task_request_id_enter, weak=False, dispatch_uid="dcr-request-id-enter")
task_postrun.connect(task_request_id_leave, weak=False, dispatch_uid="dcr-request-id-leave")


@setup_logging.connect(weak=False)
def _django_logging(**kwargs: Any) -> None:
    """Workers and beat use Django's LOGGING (its formatter and request-id filter) instead of Celery's own,
    each line written as it comes: a pool's child ends without the exit hooks that write out the web
    server's buffered log (core.log_stream)."""
    import copy
    from logging.config import dictConfig

    from django.conf import settings

    config = copy.deepcopy(settings.LOGGING)
    if "interval" in config["handlers"]["console"]:  # production's buffered handler: unbuffered here
        config["handlers"]["console"]["interval"] = 0
    dictConfig(config)
