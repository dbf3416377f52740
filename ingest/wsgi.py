"""WSGI entry point for gunicorn: `gunicorn -c ingest/deploy/gunicorn.conf.py ingest.wsgi:app`."""

from ingest.app import create_app
from ingest.settings import settings_from_env

app = create_app(settings_from_env())
