"""Knowledge gaps: grouped unanswered questions, writing their answer, re-checking them."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ragkit import Document
from webapp.console import charts
from webapp.console.access import current_organization, current_user
from webapp.console.blueprint import blp
from webapp.console.forms import PER_PAGE, page_number
from webapp.extensions import db
from webapp.models import Conversation, GapStatus
from webapp.services import chat, gaps

MAX_QUESTION = 500
MAX_ANSWER = 20_000


@blp.get("/gaps", endpoint="gaps")
def gaps_page() -> str:
    organization = current_organization()
    per_visit = gaps.MAX_NEW_PER_VISIT
    grouped = gaps.refresh(organization, per_visit)
    still_waiting = gaps.waiting(organization) if grouped == per_visit else 0
    status = request.args.get("status", GapStatus.OPEN)
    status = status if status in (GapStatus.OPEN, GapStatus.RESOLVED) else GapStatus.OPEN
    found = gaps.list_gaps(organization, status, page_number(), PER_PAGE)
    trends = {
        summary.gap.id: charts.sparkline("Questions per week, last 8 weeks", summary.weekly)
        for summary in found.items
    }
    return render_template(
        "console/gaps.html",
        page=found,
        status=status,
        trends=trends,
        waiting=still_waiting,
        per_visit=per_visit,
    )


@blp.get("/gaps/<uuid:gap_id>")
def gap(gap_id: uuid.UUID) -> str:
    found = gaps.find_gap(current_organization(), gap_id)
    answer = (
        db.session.get(Document, found.answer_document_id) if found.answer_document_id else None
    )
    questions = gaps.gap_questions(found)
    return render_template(
        "console/gap.html",
        gap=found,
        questions=questions,
        answer_document=answer,
        visible_conversations=openable({item.conversation_id for item in questions}),
    )


def openable(conversation_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The conversations among these the signed-in user may open (as in the API)."""
    if not conversation_ids:
        return set()
    visible = chat.visible_conversations(current_user()).where(
        Conversation.id.in_(conversation_ids)
    )
    return set(db.session.execute(visible.with_only_columns(Conversation.id)).scalars())


@blp.post("/gaps/<uuid:gap_id>/answer")
def write_answer(gap_id: uuid.UUID) -> Response:
    """Save the answer as a curated Q&A document of the knowledge base."""
    organization = current_organization()
    found = gaps.find_gap(organization, gap_id)
    question = request.form.get("question", "").strip()
    answer = request.form.get("answer", "").strip()
    if not question or len(question) > MAX_QUESTION:
        abort(422, f"The question must have 1 to {MAX_QUESTION} characters.")
    if not answer or len(answer) > MAX_ANSWER:
        abort(422, f"The answer must have 1 to {MAX_ANSWER} characters.")
    created = gaps.write_answer(organization, current_user(), found, question, answer)
    flash(
        f"Saved “{created.document.title}” to the knowledge base ({created.document.status}). "
        "Mark the group resolved to ask its questions again.",
        "success",
    )
    return redirect(url_for("console.gap", gap_id=gap_id))


@blp.post("/gaps/<uuid:gap_id>/resolve")
def resolve_gap(gap_id: uuid.UUID) -> Response:
    found = gaps.resolve(current_organization(), gaps.find_gap(current_organization(), gap_id))
    answered = sum(1 for item in found.questions if item.recheck_abstained is False)
    checked = sum(1 for item in found.questions if item.rechecked_at is not None)
    flash(f"Resolved: {answered} of {checked} questions are now answered.", "success")
    return redirect(url_for("console.gap", gap_id=gap_id) + "#recheck")


@blp.post("/gaps/<uuid:gap_id>/reopen")
def reopen_gap(gap_id: uuid.UUID) -> Response:
    gaps.reopen(gaps.find_gap(current_organization(), gap_id))
    flash("Reopened: new similar questions join this group again.", "success")
    return redirect(url_for("console.gap", gap_id=gap_id))
