"""Gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Read by gunicorn itself (a Python file). Each setting can be changed without editing this file
through the environment variable named beside it, which the systemd unit's environment file
sets; the smoke and concurrency tests start gunicorn with this very file.
"""

import multiprocessing
import os

# Behind the reverse proxy on the same machine; never exposed directly (see docs/DEPLOY.md).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Several processes, each with a few threads: a request mostly waits on the database, and a
# slow upload check on one thread does not hold up page views on the others.
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# A 10 MB workbook is read and checked in full inside its request: allow it a minute.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then, so a slow leak in any library cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

# Each worker opens its own database connections after the fork (a pool must not be shared).
preload_app = False

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Who the request came from and how long it took, in microseconds (%(D)s).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(D)sus "%(a)s"'

# Trust X-Forwarded-Proto/-For only from the reverse proxy, so url_for builds https links.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "rso-tracker"
