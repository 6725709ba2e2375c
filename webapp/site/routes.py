"""``/widget.js`` (the embeddable chat, gzip-compressed when accepted) and ``/demo``."""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Flask, Response, render_template, request, url_for

from webapp.cli import ragkit_cli
from webapp.demo import demo_command, find_demo_widget

WIDGET_SCRIPT = Path(__file__).resolve().parent.parent / "static" / "widget.js"
# Pages embed /widget.js without a version in the URL: an hour of caching, then a cheap
# revalidation by ETag, so a new release reaches every page within the hour.
SCRIPT_MAX_AGE = 3600
LOOPBACK_TWINS = {"127.0.0.1": "localhost", "localhost": "127.0.0.1"}

blp = Blueprint("site", __name__, template_folder="templates")


@dataclass(frozen=True)
class Asset:
    """A static file held in memory with its gzip encoding and validator."""

    body: bytes
    gzipped: bytes
    etag: str
    modified_ns: int


_assets: dict[Path, Asset] = {}
_loading = threading.Lock()


def asset(path: Path) -> Asset:
    """The file's bytes, compressed once per version of the file (re-read when it changes)."""
    modified_ns = path.stat().st_mtime_ns
    cached = _assets.get(path)
    if cached is not None and cached.modified_ns == modified_ns:
        return cached
    with _loading:
        body = path.read_bytes()
        loaded = Asset(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag=hashlib.sha256(body).hexdigest()[:32],
            modified_ns=modified_ns,
        )
        _assets[path] = loaded
    return loaded


@blp.route("/widget.js")
def widget_script() -> Response:
    """The chat widget: ``<script src=".../widget.js" data-widget-key="wk_..." async>``."""
    script = asset(WIDGET_SCRIPT)
    compressed = request.accept_encodings.quality("gzip") > 0
    response = Response(script.gzipped if compressed else script.body, mimetype="text/javascript")
    if compressed:
        response.content_encoding = "gzip"
    response.set_etag(script.etag + ("-gzip" if compressed else ""))
    response.cache_control.public = True
    response.cache_control.max_age = SCRIPT_MAX_AGE
    response.vary.add("Accept-Encoding")
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Pages on other sites load it: allow that under Cross-Origin-Embedder-Policy too.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.access_control_allow_origin = "*"
    return response.make_conditional(request)


@blp.route("/demo")
def demo_page() -> str | tuple[str, int]:
    """A fictional company's help center with the demo widget embedded."""
    widget = find_demo_widget()
    if widget is None:
        return render_template("site/demo_missing.html"), 404
    return render_template(
        "site/demo.html", widget_key=widget.public_key, script_url=demo_script_url()
    )


def demo_script_url() -> str:
    """Where the demo page loads the widget from.

    The page plays a customer's site. Opened on a loopback address, it loads the widget under the
    other loopback name (127.0.0.1 <-> localhost), so the browser calls the widget API
    cross-origin, with an ``Origin`` header and CORS, as it does from a customer's site.
    """
    script_url = url_for("site.widget_script", _external=True)
    address = urlsplit(script_url)
    twin = LOOPBACK_TWINS.get(address.hostname or "")
    if twin is None:
        return script_url
    port = f":{address.port}" if address.port else ""
    return urlunsplit(address._replace(netloc=f"{twin}{port}"))


def init_app(app: Flask) -> None:
    """Serve the pages and add ``flask ragkit demo``."""
    app.register_blueprint(blp)
    ragkit_cli.add_command(demo_command)
