"""``/api/v1/documents``: upload, list, read, edit, delete, and inspect documents."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from webapp.auth.access import authenticated, caller, organization, require_owner
from webapp.auth.limits import uploads_per_user
from webapp.documents import schemas
from webapp.services import documents, storage
from webapp.services.documents import UploadedDocument
from webapp.services.pagination import Page

UPLOADER_OR_OWNER = "A member may change or delete only the documents they uploaded."

blp = Blueprint(
    "documents",
    __name__,
    url_prefix="/api/v1/documents",
    description=(
        "The organization's knowledge base. An upload is checked by content (415 for an "
        "unsupported type, 413 beyond `MAX_UPLOAD_MB`), stored, and processed into chunks; "
        "uploading content the organization already has is a 409 `duplicate_document` error "
        "whose `document_id` names the existing document. Any member uploads and reads; "
        "owners rename and delete any document, members the ones they uploaded; only owners "
        "reprocess."
    ),
)


@blp.route("/")
class Documents(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.DocumentQuerySchema, location="query")
    @blp.response(200, schemas.DocumentPageSchema)
    def get(self, query: dict[str, Any]) -> Page:
        """List documents, newest first; filter by `status`, search titles with `q`."""
        return documents.search(
            organization(), query.get("status"), query.get("q"), query["page"], query["per_page"]
        )

    @authenticated(blp)
    @blp.arguments(schemas.UploadFormSchema, location="form")
    @blp.arguments(schemas.UploadFileSchema, location="files")
    @blp.response(201, schemas.DocumentSchema)
    @blp.alt_response(409, response="CONFLICT", description="Same content already uploaded.")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @uploads_per_user
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> UploadedDocument:
        """Upload a file (multipart). The response shows the status after processing started."""
        return documents.upload(
            organization(), caller(), files["file"], form["title"], form["description"]
        )


@blp.route("/<uuid:document_id>")
class DocumentResource(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.DocumentSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, document_id: uuid.UUID) -> UploadedDocument:
        """A document: status, processing error, chunk count, type, size and hash."""
        return documents.find(organization(), document_id)

    @authenticated(blp)
    @blp.arguments(schemas.DocumentChangesSchema)
    @blp.response(200, schemas.DocumentSchema)
    @blp.alt_response(403, response="FORBIDDEN", description=UPLOADER_OR_OWNER)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, changes: dict[str, str], document_id: uuid.UUID) -> UploadedDocument:
        """Change the title or description (owners, or the member who uploaded it)."""
        found = documents.find(organization(), document_id)
        documents.require_change_rights(found, caller())
        return documents.update(found, changes)

    @authenticated(blp)
    @blp.response(204)
    @blp.alt_response(403, response="FORBIDDEN", description=UPLOADER_OR_OWNER)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, document_id: uuid.UUID) -> None:
        """Delete the document, its chunks, vectors and file (owners, or the member who
        uploaded it); past answers keep their citations."""
        found = documents.find(organization(), document_id)
        documents.require_change_rights(found, caller())
        documents.delete(organization(), found.document)


@blp.route("/<uuid:document_id>/chunks")
class DocumentChunks(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.PageQuerySchema, location="query")
    @blp.response(200, schemas.ChunkPageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, query: dict[str, int], document_id: uuid.UUID) -> Page:
        """The document's chunks in order."""
        found = documents.find(organization(), document_id)
        return documents.chunks(found.document, query["page"], query["per_page"])


@blp.route("/<uuid:document_id>/file")
class DocumentFile(MethodView):
    @authenticated(blp)
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="*/*",
        description=(
            "The original file, with its own content type (`application/pdf`, `text/plain`, "
            "`text/markdown`, `text/csv`, `text/html` or the DOCX type) and its cleaned name in "
            "`Content-Disposition`."
        ),
    )
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, document_id: uuid.UUID) -> Response:
        """Download the uploaded file (streamed; `ETag` is its content hash)."""
        document = documents.find(organization(), document_id).document
        return storage.download(document, documents.display_name(document.source))


@blp.route("/<uuid:document_id>/reprocess")
class DocumentReprocessing(MethodView):
    @authenticated(blp)
    @blp.response(202, schemas.DocumentSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, document_id: uuid.UUID) -> UploadedDocument:
        """Chunk and embed the document again (owners only)."""
        require_owner()
        return documents.reprocess(documents.find(organization(), document_id))
