"""Conversations: filtered list, and each conversation with its answers and citations."""

from __future__ import annotations

import uuid

from flask import render_template, request

from webapp.console.access import current_user
from webapp.console.blueprint import blp
from webapp.console.forms import PER_PAGE, day, page_number, text
from webapp.extensions import db
from webapp.models import WidgetConfiguration
from webapp.services import chat, transcripts
from webapp.services.transcripts import RATINGS, SOURCES, ConversationFilters


def filters_from_query() -> ConversationFilters:
    source = request.args.get("source")
    rating = request.args.get("rating")
    return ConversationFilters(
        source=source if source in SOURCES else None,
        since=day("since"),
        until=day("until"),
        rating=rating if rating in RATINGS else None,
        abstained=request.args.get("abstained") == "1",
        handoff=request.args.get("handoff") == "1",
        text=text("q"),
    )


@blp.get("/conversations", endpoint="conversations")
def conversations_page() -> str:
    filters = filters_from_query()
    found = transcripts.search(current_user(), filters, page_number(), PER_PAGE)
    return render_template("console/conversations.html", page=found, filters=filters)


@blp.get("/conversations/<uuid:conversation_id>")
def conversation(conversation_id: uuid.UUID) -> str:
    """Every message, with the answers' numbered citations linking to the cited passages."""
    found = chat.find_conversation(current_user(), conversation_id)
    widget = db.session.get(WidgetConfiguration, found.widget_id) if found.widget_id else None
    return render_template(
        "console/conversation.html",
        conversation=found,
        widget=widget,
        messages=chat.messages(found),
        ratings=transcripts.ratings(found.id),
        handoffs=transcripts.handoffs_of(found.id),
    )
