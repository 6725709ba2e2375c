"""Knowledge gaps: what the assistant could not answer, grouped so the team sees what to write.

A question is a gap when its answer abstained or was rated down. Gaps are grouped online, in
the order they were asked: a question's embedding (the organization's embedding model) joins
the open group whose centroid is nearest, if their cosine similarity reaches
:data:`SIMILARITY_THRESHOLD`, or starts a group of its own. Groups are stored (not recomputed on
every visit) so that they keep their identity, their curated answer and their resolution, and
so that each question is embedded once: a visit embeds only the questions asked since the last.
"""

from __future__ import annotations

import io
import math
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_smorest import abort
from sqlalchemy.orm import aliased
from werkzeug.datastructures import FileStorage

from ragkit import EmbeddingModel, RagkitError
from webapp.extensions import db
from webapp.models import (
    Conversation,
    Feedback,
    GapQuestion,
    GapReason,
    GapStatus,
    KnowledgeGap,
    Message,
    MessageRole,
    Organization,
    User,
)
from webapp.services import documents
from webapp.services.documents import UploadedDocument
from webapp.services.knowledge import knowledge_base
from webapp.services.pagination import Page, paginate
from webapp.services.questions import question_of

SIMILARITY_THRESHOLD = 0.6
BATCH_SIZE = 256
# A visit groups at most this many new questions (a second or two of embedding on a CPU), so
# the page stays quick after a backlog; `flask ragkit group-gaps` groups any number at once.
MAX_NEW_PER_VISIT = 64
TREND_WEEKS = 8
EXAMPLES = 3
MAX_RECHECKED = 25
CURATED_DESCRIPTION = "Curated answer written from a knowledge gap."
# What a recheck keeps of each citation of the new answer (the fields of `ragkit ask --json`).
RECHECKED_CITATION_FIELDS = ("n", "document_id", "chunk_id", "title", "page", "section")


@dataclass(frozen=True)
class GapSummary:
    """A gap as the list shows it: the group, a few recent questions and the weekly trend."""

    gap: KnowledgeGap
    examples: list[str]
    weekly: list[int]

    @property
    def this_week(self) -> int:
        return self.weekly[-1] if self.weekly else 0


def gap_answers(organization_id: uuid.UUID) -> sa.Select:
    """Answers of the organization that abstained or were rated down, not yet grouped."""
    answer = aliased(Message)
    rated_down = (
        db.select(Feedback.id)
        .where(Feedback.message_id == answer.id, Feedback.rating == -1)
        .exists()
    )
    grouped = db.select(GapQuestion.answer_id).where(GapQuestion.answer_id == answer.id).exists()
    question = question_of(answer)
    return (
        db.select(
            answer.id,
            answer.conversation_id,
            question,
            answer.abstained,
            answer.created_at,
        )
        .join(Conversation, Conversation.id == answer.conversation_id)
        .where(
            Conversation.organization_id == organization_id,
            answer.role == MessageRole.ASSISTANT,
            sa.or_(answer.abstained.is_(True), rated_down),
            ~grouped,
            question.is_not(None),
        )
        .order_by(answer.created_at, answer.id)
    )


def embedding_model(organization: Organization) -> EmbeddingModel:
    """The model of the organization's active index (the default one before its first index)."""
    kit = knowledge_base()
    try:
        return kit.model_for(organization.namespace)
    except RagkitError:
        return kit.model


def refresh(organization: Organization, limit: int | None) -> int:
    """Group up to ``limit`` gap questions asked since the last refresh (all when None).

    Returns how many were grouped.
    """
    # One refresh at a time per organization: two would group the same answers twice.
    db.session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(str(organization.id))))
    )
    rows = db.session.execute(gap_answers(organization.id).limit(limit)).all()
    if not rows:
        db.session.commit()
        return 0
    model = embedding_model(organization)
    groups = open_groups(organization.id, model.name)
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        vectors = model.embed_sentences([row[2] for row in batch])
        for row, vector in zip(batch, vectors):
            place(organization.id, model.name, groups, row, unit(vector))
    db.session.commit()
    return len(rows)


def waiting(organization: Organization) -> int:
    """Gap questions not grouped yet."""
    query = gap_answers(organization.id).order_by(None).subquery()
    return db.session.execute(db.select(sa.func.count()).select_from(query)).scalar_one()


def open_groups(organization_id: uuid.UUID, embed_model: str) -> list[KnowledgeGap]:
    return list(
        db.session.execute(
            db.select(KnowledgeGap).where(
                KnowledgeGap.organization_id == organization_id,
                KnowledgeGap.status == GapStatus.OPEN,
                KnowledgeGap.embed_model == embed_model,
            )
        ).scalars()
    )


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def cosine_to_centroid(vector: list[float], vector_sum: list[float]) -> float:
    """Cosine similarity of a unit vector to the direction of a sum of unit vectors."""
    norm = math.sqrt(sum(value * value for value in vector_sum)) or 1.0
    return sum(a * b for a, b in zip(vector, vector_sum)) / norm


def nearest(groups: list[KnowledgeGap], vector: list[float]) -> tuple[KnowledgeGap | None, float]:
    best, best_similarity = None, -1.0
    for group in groups:
        similarity = cosine_to_centroid(vector, group.vector_sum)
        if similarity > best_similarity:
            best, best_similarity = group, similarity
    return best, best_similarity


def place(
    organization_id: uuid.UUID,
    embed_model: str,
    groups: list[KnowledgeGap],
    row: Any,
    vector: list[float],
) -> None:
    """Add the question to the nearest group above the threshold, or start a new group."""
    answer_id, conversation_id, question, abstained, asked_at = row
    group, similarity = nearest(groups, vector)
    if group is None or similarity < SIMILARITY_THRESHOLD:
        group = KnowledgeGap(
            organization_id=organization_id,
            title=question[:500],
            embed_model=embed_model,
            vector_sum=[0.0] * len(vector),
            question_count=0,
            last_asked_at=asked_at,
        )
        db.session.add(group)
        groups.append(group)
    group.vector_sum = [a + b for a, b in zip(group.vector_sum, vector)]
    group.question_count += 1
    group.last_asked_at = max(group.last_asked_at, asked_at)
    reason = GapReason.ABSTAINED if abstained else GapReason.RATED_DOWN
    db.session.add(
        GapQuestion(
            answer_id=answer_id,
            gap=group,
            organization_id=organization_id,
            conversation_id=conversation_id,
            question=question,
            reason=reason,
            asked_at=asked_at,
        )
    )


def list_gaps(organization: Organization, status: str, page: int, per_page: int) -> Page:
    """Gaps of one status, largest first, then the most recently asked."""
    query = (
        db.select(KnowledgeGap)
        .where(KnowledgeGap.organization_id == organization.id, KnowledgeGap.status == status)
        .order_by(
            KnowledgeGap.question_count.desc(),
            KnowledgeGap.last_asked_at.desc(),
            KnowledgeGap.id,
        )
    )
    found = paginate(query, page, per_page)
    summaries = summarise(found.items)
    return Page(summaries, found.total, found.page, found.per_page)


def summarise(gaps: list[KnowledgeGap]) -> list[GapSummary]:
    """Each gap with its latest distinct questions and its questions per week."""
    if not gaps:
        return []
    ids = [gap.id for gap in gaps]
    recent = db.session.execute(
        db.select(GapQuestion.gap_id, GapQuestion.question, GapQuestion.asked_at)
        .where(GapQuestion.gap_id.in_(ids))
        .order_by(GapQuestion.asked_at.desc())
    ).all()
    examples: dict[uuid.UUID, list[str]] = defaultdict(list)
    weekly: dict[uuid.UUID, list[int]] = {gap_id: [0] * TREND_WEEKS for gap_id in ids}
    now = datetime.now(UTC)
    for gap_id, question, asked_at in recent:
        if len(examples[gap_id]) < EXAMPLES and question not in examples[gap_id]:
            examples[gap_id].append(question)
        weeks_ago = max(0, (now - asked_at) // timedelta(weeks=1))  # clocks may differ a bit
        if 0 <= weeks_ago < TREND_WEEKS:
            weekly[gap_id][TREND_WEEKS - 1 - weeks_ago] += 1
    return [GapSummary(gap, examples[gap.id], weekly[gap.id]) for gap in gaps]


def find_gap(organization: Organization, gap_id: uuid.UUID) -> KnowledgeGap:
    gap = db.session.execute(
        db.select(KnowledgeGap).where(
            KnowledgeGap.id == gap_id, KnowledgeGap.organization_id == organization.id
        )
    ).scalar_one_or_none()
    if gap is None:
        abort(404, message=f"No knowledge gap {gap_id} in your organization.")
    return gap


def curated_markdown(question: str, answer: str) -> str:
    """The curated document: the question as its heading, the answer as its body."""
    return f"# {question.strip()}\n\n{answer.strip()}\n"


def file_name(question: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:80] or "answer"
    return f"{slug}.md"


def write_answer(
    organization: Organization, user: User, gap: KnowledgeGap, question: str, answer: str
) -> UploadedDocument:
    """Save the answer as a Markdown document of the knowledge base, titled by the question.

    It goes through the normal upload (stored, chunked, embedded, then cited like any other).
    """
    content = curated_markdown(question, answer).encode()
    upload = FileStorage(io.BytesIO(content), filename=file_name(question), name="file")
    gap_id = gap.id
    created = documents.upload(organization, user, upload, question.strip(), CURATED_DESCRIPTION)
    refreshed = db.session.get_one(KnowledgeGap, gap_id)
    refreshed.answer_document_id = created.document.id
    db.session.commit()
    return created


def resolve(organization: Organization, gap: KnowledgeGap) -> KnowledgeGap:
    """Ask the group's questions again, record which are now answered, close the group."""
    kit = knowledge_base()
    outcomes: dict[str, dict[str, Any]] = {}
    questions = list(gap.questions)
    for item in questions:
        if item.question not in outcomes and len(outcomes) < MAX_RECHECKED:
            outcomes[item.question] = recheck(kit, organization, item.question)
    checked_at = sa.func.now()
    for item in questions:
        outcome = outcomes.get(item.question)
        if outcome is not None:
            item.rechecked_at = checked_at
            item.recheck_abstained = outcome["abstained"]
            item.recheck_answer = outcome["text"]
            item.recheck_citations = outcome["citations"]
    gap.status = GapStatus.RESOLVED
    gap.resolved_at = checked_at
    db.session.commit()
    return gap


def recheck(kit: Any, organization: Organization, question: str) -> dict[str, Any]:
    answer = kit.ask(question, organization.namespace)
    return {
        "abstained": bool(answer.abstained),
        "text": answer.text,
        "citations": [
            {field: cited[field] for field in RECHECKED_CITATION_FIELDS}
            for cited in (citation.to_json() for citation in answer.citations)
        ],
    }


def reopen(gap: KnowledgeGap) -> KnowledgeGap:
    gap.status = GapStatus.OPEN
    gap.resolved_at = None
    db.session.commit()
    return gap


def gap_questions(gap: KnowledgeGap, limit: int = 200) -> list[GapQuestion]:
    return list(
        db.session.execute(
            db.select(GapQuestion)
            .where(GapQuestion.gap_id == gap.id)
            .order_by(GapQuestion.asked_at.desc())
            .limit(limit)
        ).scalars()
    )
