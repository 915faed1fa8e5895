"""The ASGI application for servers: ``uvicorn refundry.entrypoints.api.asgi:app``."""

from refundry.bootstrap import bootstrap
from refundry.entrypoints.api.app import create_app

app = create_app(bootstrap(run_migrations=False))
