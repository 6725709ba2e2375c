"""Sending a document's original file: streamed from the database a part at a time.

An upload's bytes are in PostgreSQL (:mod:`ragkit.files`); the response reads one 1 MiB part
per query as the client takes them, so a download holds one part in memory and no database
connection between parts. A document the CLI ingested in place is sent from its path, when
that path exists on this machine.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import Response, request, send_file
from flask_smorest import abort

from ragkit import Document, files
from webapp.extensions import db

GONE = "The original file of this document is no longer stored."
SAFE = "!#$&+-.^_`|~"  # RFC 5987 attr-char, besides letters and digits


def download(document: Document, name: str) -> Response:
    """The document's file as an attachment called ``name``, or 404."""
    if document.file_path is not None:
        return _send_in_place(Path(document.file_path), document.content_type, name)
    stored = files.find(db.session, document.organization_id, document.content_hash)
    if stored is None:
        abort(404, message=GONE)
    body = files.parts(db.engine, stored.organization_id, stored.content_hash)
    response = Response(body, mimetype=document.content_type, direct_passthrough=True)
    response.content_length = stored.size
    response.headers.set("Content-Disposition", "attachment", **attachment_names(name))
    response.set_etag(stored.content_hash)
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)


def _send_in_place(path: Path, content_type: str, name: str) -> Response:
    if not path.is_file():
        abort(404, message=GONE)
    return send_file(path, mimetype=content_type, as_attachment=True, download_name=name)


def attachment_names(name: str) -> dict[str, str]:
    """The ``Content-Disposition`` parameters for ``name``, as ``send_file`` writes them."""
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        return {"filename": ascii_name, "filename*": f"UTF-8''{quote(name, safe=SAFE)}"}
    return {"filename": name}
