"""The Celery app, configured from Django settings (the CELERY_* names; the beat schedule is there too).

Run a worker with beat: `make worker` (or `celery -A dcr_project worker --beat`). Without REDIS_URL
the settings make every task run eagerly in the calling process, so no worker is needed.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dcr_project.settings.local")

app = Celery("dcr_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
