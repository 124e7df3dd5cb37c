"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from app import create_app

app = create_app()

# What start-up loaded (modules, mappers, settings) lives as long as the process. Frozen, it is
# left out of the cyclic collector's full passes, which would otherwise rescan it during page
# views: on the large benchmark plan those passes added tens of milliseconds to the summary.
gc.freeze()
