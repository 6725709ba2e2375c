"""The web application's tables, on ragkit's declarative base (one metadata for everything)."""

from webapp.models.chat import Conversation, Feedback, Message, MessageCitation, MessageRole
from webapp.models.documents import DocumentUpload
from webapp.models.gaps import GapQuestion, GapReason, GapStatus, KnowledgeGap
from webapp.models.handoffs import DeliveryStatus, HandoffRequest, HandoffStatus
from webapp.models.organizations import Organization, Role, User
from webapp.models.widgets import WidgetConfiguration, new_public_key

__all__ = [
    "Conversation",
    "DeliveryStatus",
    "DocumentUpload",
    "Feedback",
    "GapQuestion",
    "GapReason",
    "GapStatus",
    "HandoffRequest",
    "HandoffStatus",
    "KnowledgeGap",
    "Message",
    "MessageCitation",
    "MessageRole",
    "Organization",
    "Role",
    "User",
    "WidgetConfiguration",
    "new_public_key",
]
