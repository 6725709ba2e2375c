"""Security headers on every response: no sniffing, no framing, a strict referrer, HSTS over TLS.

The console and the demo page also get a Content-Security-Policy: scripts only from the app
(and, on the demo page, from wherever it loads ``/widget.js``), no inline scripts, no plugins.
Inline styles stay allowed: templates use ``style`` attributes and the widget styles its shadow
root with a ``<style>`` element. ``/widget.js`` itself is a script embedded by other sites: it
keeps the ``Cross-Origin-Resource-Policy: cross-origin`` its route sets.

No response names the server software: the app sends no ``Server`` header, and
:class:`BannerlessRequestHandler` keeps werkzeug's server from adding ``Werkzeug/x Python/y``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.serving import WSGIRequestHandler

HSTS = "max-age=31536000; includeSubDomains"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages that get a CSP: the console (blueprint "console") and the demo page.
CONSOLE_BLUEPRINT = "console"
DEMO_ENDPOINT = "site.demo_page"


def content_security_policy(script_origins: str = "") -> str:
    """The policy of the console and demo pages; ``script_origins`` may also run scripts."""
    sources = f"'self' {script_origins}".strip()
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {sources}",
            f"connect-src {sources}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def page_policy() -> str | None:
    """The CSP of the page being answered, or ``None`` for API responses and assets."""
    if request.blueprint == CONSOLE_BLUEPRINT:
        return content_security_policy()
    if request.endpoint == DEMO_ENDPOINT:
        from webapp.site.routes import demo_script_url

        address = urlsplit(demo_script_url())
        return content_security_policy(f"{address.scheme}://{address.netloc}")
    return None


def add_security_headers(response: Response) -> Response:
    """Headers every response carries; a route's own value (e.g. the console's) wins."""
    response.headers.pop("Server", None)
    for name, value in COMMON_HEADERS.items():
        response.headers.setdefault(name, value)
    policy = page_policy()
    if policy and response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", policy)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


class BannerlessRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler without the ``Server`` header naming its version.

    Serve with it: ``run_simple(host, port, app, request_handler=BannerlessRequestHandler)``.
    """

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() != "server":
            super().send_header(keyword, value)
