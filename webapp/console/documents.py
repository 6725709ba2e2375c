"""The knowledge base: documents, uploads with progress, live status, chunks, citing questions."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ragkit import CSV, DOCX, HTML, MARKDOWN, PDF, TEXT, Chunk, DocumentStatus
from webapp.console.access import current_organization, current_user, require_owner, wants_json
from webapp.console.blueprint import blp
from webapp.console.forms import PER_PAGE, page_number, text
from webapp.console.sign_in import safe_target
from webapp.extensions import db
from webapp.services import documents, questions
from webapp.services.documents import UploadedDocument

CHUNKS_PER_PAGE = 20
TYPE_NAMES = {
    PDF: "PDF",
    DOCX: "Word",
    HTML: "HTML",
    MARKDOWN: "Markdown",
    CSV: "CSV",
    TEXT: "Text",
}


@blp.app_template_filter("document_type")
def document_type(content_type: str) -> str:
    """A content type as people name it (``Word`` rather than its long MIME type)."""
    return TYPE_NAMES.get(content_type, content_type.rsplit("/", 1)[-1])


STATUSES = list(DocumentStatus)


@blp.get("/documents", endpoint="documents")
def documents_page() -> str:
    title = text("q")
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    found = documents.search(current_organization(), status, title, page_number(), PER_PAGE)
    return render_template(
        "console/documents.html",
        page=found,
        pages=documents.page_counts([item.document.id for item in found.items]),
        title_query=title,
        status=status,
        statuses=STATUSES,
        max_upload_mb=current_app.config["MAX_UPLOAD_MB"],
        may_change=documents.may_change,
    )


@blp.post("/documents/upload")
def upload_documents() -> Any:
    """Upload files: the page's script sends one per request (for its progress bar), a plain
    form sends several; each goes through the document service like an API upload."""
    files = [file for file in request.files.getlist("files") if file.filename]
    if not files:
        abort(422, "Choose at least one file to upload.")
    if wants_json():
        if len(files) != 1:
            abort(422, "Send one file per request.")
        uploaded = store(files[0])
        return jsonify(document_state(uploaded)), 201
    for file in files:
        try:
            store(file)
            flash(f"Uploaded {file.filename}.", "success")
        except HTTPException as error:
            message = (getattr(error, "data", None) or {}).get("message") or error.description
            flash(f"{file.filename}: {message}", "error")
    return redirect(url_for("console.documents"))


def store(file: FileStorage) -> UploadedDocument:
    title = None  # the service names the document after its file
    return documents.upload(current_organization(), current_user(), file, title, "")


def document_state(found: UploadedDocument) -> dict[str, Any]:
    document = found.document
    return {
        "id": str(document.id),
        "title": document.title,
        "status": document.status,
        "chunk_count": document.chunk_count,
        "error": document.processing_error,
        "updated_at": document.updated_at.isoformat() if document.updated_at else None,
        "url": url_for("console.document", document_id=document.id),
    }


@blp.get("/documents/status.json")
def documents_status() -> Response:
    """The state of some documents (``?id=...&id=...``), polled while they process."""
    ids = []
    for raw in request.args.getlist("id")[:100]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            abort(422, f"{raw!r} is not a document id.")
    found = documents.find_many(current_organization(), ids)
    pages = documents.page_counts([item.document.id for item in found])
    states = [{**document_state(item), "pages": pages.get(item.document.id)} for item in found]
    return jsonify({"documents": states})


@blp.get("/documents/<uuid:document_id>")
def document(document_id: uuid.UUID) -> str:
    organization = current_organization()
    found = documents.find(organization, document_id)
    user = current_user()
    citing = [
        item
        for item in questions.questions_citing(organization, document_id)
        if user.is_owner or item.user_id == user.id
    ]
    return render_template(
        "console/document.html",
        found=found,
        chunks=documents.chunks(found.document, page_number(), CHUNKS_PER_PAGE),
        pages=documents.page_counts([document_id]).get(document_id),
        citing=citing,
        may_change=documents.may_change,
    )


@blp.get("/documents/<uuid:document_id>/chunks/<uuid:chunk_id>")
def chunk(document_id: uuid.UUID, chunk_id: uuid.UUID) -> Response:
    """A citation's link: the document page that shows the chunk, scrolled to it."""
    found = documents.find(current_organization(), document_id)
    index = db.session.execute(
        db.select(Chunk.chunk_index).where(
            Chunk.id == chunk_id, Chunk.document_id == found.document.id
        )
    ).scalar()
    if index is None:
        flash("That passage is no longer in the document: it was reprocessed.", "info")
        return redirect(url_for("console.document", document_id=document_id))
    page = index // CHUNKS_PER_PAGE + 1
    return redirect(
        url_for("console.document", document_id=document_id, page=page, _anchor=f"chunk-{chunk_id}")
    )


@blp.post("/documents/<uuid:document_id>/reprocess")
def reprocess(document_id: uuid.UUID) -> Response:
    require_owner()
    found = documents.reprocess(documents.find(current_organization(), document_id))
    flash(f"{found.document.title} is being processed again.", "success")
    return redirect(safe_target(request.form.get("back")) or url_for("console.documents"))


@blp.post("/documents/<uuid:document_id>/delete")
def delete(document_id: uuid.UUID) -> Response:
    organization = current_organization()
    found = documents.find(organization, document_id)
    documents.require_change_rights(found, current_user())
    title = found.document.title
    documents.delete(organization, found.document)
    flash(f"Deleted {title}.", "success")
    return redirect(url_for("console.documents"))
