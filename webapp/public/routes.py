"""``/api/v1/public/widgets/<key>``: the API the embedded widget calls for anonymous visitors.

No JWT: the widget is named by its public key, and each request must come from a page of the
widget's allowed domains (its ``Origin``). Starting a conversation returns a visitor token that
is the only credential for that conversation. CORS is answered here, per widget, and only to
allowed origins.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from flask import Response, current_app, g, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from webapp.auth.access import View
from webapp.chat.routes import encode
from webapp.models import Conversation, Feedback, HandoffRequest, Message, WidgetConfiguration
from webapp.public import schemas
from webapp.public.limits import conversations_per_address, per_visitor, per_widget
from webapp.schemas import SERVER_SENT_EVENT
from webapp.services import chat, handoffs, public
from webapp.services.public import VisitorToken

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
PREFLIGHT_MAX_AGE = "600"
ORIGIN_REFUSED = "The page's Origin is not among the widget's allowed domains."
TOO_LONG = "The question is too long."
# Citations are numbered from 1; a number beyond any answer's is a 404, not a database error.
CITATION_NUMBER = "int(min=1, max=10000)"

blp = Blueprint(
    "public",
    __name__,
    url_prefix="/api/v1/public/widgets/<key>",
    description=(
        "The embedded widget's API for anonymous visitors: no JWT, only requests from the "
        "widget's allowed domains. Conversation routes need the visitor token returned when "
        "the conversation starts, as `Authorization: Bearer <token>`."
    ),
)
VISITOR_TOKEN = [{"visitorToken": []}]


@blp.before_request
def admit_origin() -> Response | None:
    """Find the widget, refuse origins it does not allow, and answer CORS preflights."""
    g.public_widget = public.find_widget((request.view_args or {})["key"])
    public.check_origin(g.public_widget, public.request_origin())
    g.cors_origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        response = current_app.response_class(status=204)
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
    return None


@blp.after_request
def cross_origin_headers(response: Response) -> Response:
    response.vary.add("Origin")
    origin = g.pop("cors_origin", None)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def widget() -> WidgetConfiguration:
    """The widget of the request, found (and its origin checked) before the view runs."""
    return g.public_widget


def visitor_conversation() -> Conversation:
    """The conversation of the request, whose visitor token :func:`visitor_routes` checked."""
    return g.visitor_conversation


def visitor_routes(view: View) -> View:
    """Require the visitor token of the conversation in the path, and document it.

    The token is checked before the rate limits below it count the request, so requests
    without that conversation's token never use up its visitor's allowance.
    """

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        g.visitor_conversation = public.visitor_conversation(widget(), kwargs["conversation_id"])
        return view(*args, **kwargs)

    documented = blp.doc(security=VISITOR_TOKEN)(checked)
    documented = blp.alt_response(401, response="UNAUTHORIZED")(documented)
    documented = blp.alt_response(403, response="FORBIDDEN", description=ORIGIN_REFUSED)(documented)
    return blp.alt_response(404, response="NOT_FOUND")(documented)


@blp.route("")
class PublicWidget(MethodView):
    @blp.doc(security=[])
    @blp.response(200, schemas.PublicWidgetSchema)
    @blp.alt_response(403, response="FORBIDDEN", description=ORIGIN_REFUSED)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, key: str) -> WidgetConfiguration:
        """How to draw the widget: title, colour, welcome message, features."""
        return widget()


@blp.route("/conversations")
class VisitorConversations(MethodView):
    @blp.doc(security=[])
    @blp.arguments(schemas.ConversationStartSchema, required=False)
    @blp.response(201, schemas.VisitorTokenSchema)
    @blp.alt_response(403, response="FORBIDDEN", description=ORIGIN_REFUSED)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @conversations_per_address
    @per_widget
    def post(self, _fields: dict[str, Any], key: str) -> VisitorToken:
        """Start a conversation; returns its id and the visitor token for it."""
        return public.start_conversation(widget())


@blp.route("/conversations/<uuid:conversation_id>/messages")
class VisitorMessages(MethodView):
    @blp.response(200, schemas.MessageSchema(many=True))
    @visitor_routes
    def get(self, key: str, conversation_id: uuid.UUID) -> list[Message]:
        """The conversation's messages, oldest first, answers with their citations."""
        return chat.messages(visitor_conversation())

    @blp.arguments(schemas.VisitorQuestionSchema)
    @blp.response(201, schemas.ExchangeSchema)
    @visitor_routes
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE", description=TOO_LONG)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @per_visitor
    @per_widget
    def post(
        self, body: dict[str, str], key: str, conversation_id: uuid.UUID
    ) -> dict[str, Message]:
        """Ask a question; the answer comes from the organization's documents, with citations."""
        public.check_question(body["content"])
        conversation = visitor_conversation()
        asked, answered = chat.ask(conversation, chat.Question(body["content"]))
        return {"user_message": asked, "assistant_message": answered}


@blp.route("/conversations/<uuid:conversation_id>/messages/stream")
class VisitorMessageStream(MethodView):
    @blp.arguments(schemas.VisitorQuestionSchema)
    @blp.response(
        200,
        SERVER_SENT_EVENT,
        content_type="text/event-stream",
        description=(
            "Server-Sent Events, as the authenticated chat stream: `citations`, `delta` "
            '(`{"text"}`), then `done` (`{"user_message", "assistant_message"}`), or `error`.'
        ),
    )
    @visitor_routes
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE", description=TOO_LONG)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @per_visitor
    @per_widget
    def post(self, body: dict[str, str], key: str, conversation_id: uuid.UUID) -> Response:
        """Ask a question and receive the answer as it is produced."""
        public.check_question(body["content"])
        conversation = visitor_conversation()
        question = chat.Question(body["content"])
        asked, turns = chat.add_question(conversation, question)
        answer = chat.stream(conversation.id, str(conversation.organization_id), turns, question)
        return Response(
            stream_with_context(encode(answer, schemas.MessageSchema().dump(asked))),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


@blp.route("/conversations/<uuid:conversation_id>/messages/<uuid:message_id>/feedback")
class VisitorFeedback(MethodView):
    @blp.arguments(schemas.VisitorFeedbackSchema)
    @blp.response(200, schemas.VisitorFeedbackSchema)
    @blp.alt_response(
        403, response="FORBIDDEN", description=f"{ORIGIN_REFUSED} Or feedback is disabled."
    )
    @visitor_routes
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @per_visitor
    @per_widget
    def post(
        self, body: dict[str, Any], key: str, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> Feedback:
        """Rate an answer +1 or -1 with an optional comment; rating again replaces it."""
        if not widget().enable_feedback:
            abort(403, code="feedback_disabled", message="This widget does not take feedback.")
        conversation = visitor_conversation()
        message = public.conversation_message(conversation, message_id)
        session_id = conversation.session_id or str(conversation.id)
        return chat.give_visitor_feedback(message, session_id, body["rating"], body["comment"])


@blp.route(
    "/conversations/<uuid:conversation_id>/messages/<uuid:message_id>"
    f"/citations/<{CITATION_NUMBER}:n>"
)
class VisitorCitation(MethodView):
    @blp.response(200, schemas.CitedPassageSchema)
    @visitor_routes
    def get(
        self, key: str, conversation_id: uuid.UUID, message_id: uuid.UUID, n: int
    ) -> dict[str, Any]:
        """Source `[n]` of an answer in this conversation, with the passage it quotes."""
        return public.cited_passage(visitor_conversation(), message_id, n)


@blp.route("/conversations/<uuid:conversation_id>/handoff")
class VisitorHandoff(MethodView):
    @blp.arguments(schemas.HandoffRequestSchema)
    @blp.response(201, schemas.HandoffRequestSchema)
    @visitor_routes
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @per_visitor
    @per_widget
    def post(self, body: dict[str, str], key: str, conversation_id: uuid.UUID) -> HandoffRequest:
        """Ask for a person: leave an e-mail address and a message for the organization."""
        conversation = visitor_conversation()
        return handoffs.request_handoff(conversation, body["email"], body["message"])
