"""The pages the app serves outside the API: ``/widget.js`` and the ``/demo`` help page."""

from webapp.site.routes import blp, init_app

__all__ = ["blp", "init_app"]
