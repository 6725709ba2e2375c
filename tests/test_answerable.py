"""Answerability: abstain when the passages do not cover the question, whatever the corpus size."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkit import RagKit
from ragkit.answerable import (
    answerability,
    codes_found,
    coverage,
    passages_coverage,
    question_terms,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "docs"


def test_common_words_name_nothing_and_rare_ones_weigh_most() -> None:
    terms = question_terms("When was the Duchy of Normandy founded?", "en")
    assert "the" not in terms and "when" not in terms
    assert terms["duchi"] > terms["found"] > 0


def test_coverage_compares_stems_in_the_question_language() -> None:
    terms = question_terms("When was the Duchy of Normandy founded?", "en")
    assert coverage(terms, "The founding of the duchy of Normandy came in 911.", "en") == 1.0
    partial = coverage(terms, "Normandy is a region of France.", "en")
    assert 0.0 < partial < 0.5
    german = question_terms("Wie lange ist der Link zum Zurücksetzen gültig?", "de")
    assert coverage(german, "Der Link zum Zurücksetzen bleibt lange gültig.", "de") == 1.0


def test_a_close_sentence_about_another_code_does_not_answer() -> None:
    passages = ["E-1090 Session expired: sign out, then sign in again."]
    assert not codes_found("What does error E-1099 mean?", passages)
    assert codes_found("What does error E-1090 mean?", passages)
    assert codes_found("What is new in 3.6?", ["Version 3.6.0 - released 22 April 2025"])
    assert answerability(0.7, 0.0, codes_found=False) < answerability(0.7, 0.0)


def test_a_compound_word_is_covered_by_its_parts() -> None:
    terms = question_terms("Wie lange kann ich meinen Datenexport herunterladen?", "de")
    passage = "Gehen Sie zu Einstellungen und Daten exportieren; der Link ist 48 Stunden gültig."
    assert coverage(terms, passage, "de") > coverage(terms, "Der Link ist gültig.", "de")
    assert "datenexport" in terms


def test_a_question_that_names_little_is_left_to_the_similarity() -> None:
    terms = question_terms("Can I get my money back?", "en")
    assert coverage(terms, "Refunds are paid within 14 days.", "en") == 1.0


def test_a_close_sentence_answers_however_it_is_worded() -> None:
    assert answerability(0.7, 0.0) == 1.0
    assert answerability(0.45, 0.0) < answerability(0.45, 1.0)


def test_a_follow_up_is_covered_by_its_resolved_form_too() -> None:
    passages = ["To clear the cache, open Settings and click Clear cache; notes stay untouched."]
    alone = passages_coverage(["Will the notebook attachments disappear?"], passages)
    resolved = passages_coverage(
        ["Will the notebook attachments disappear?", "How do I clear the cache of notebooks?"],
        passages,
    )
    assert resolved > alone


@pytest.mark.parametrize(
    "question",
    [
        "What does error E-1099 mean?",
        "How much does the Enterprise Plus plan cost per seat?",
    ],
)
def test_on_topic_questions_the_documents_do_not_answer_are_abstained(
    kit: RagKit, support_org: str, question: str
) -> None:
    assert kit.ask(question, support_org).abstained, question


def test_abstention_does_not_depend_on_the_corpus_size(kit: RagKit, organization: str) -> None:
    """The same question over the same passage is decided alike with one document or six."""
    kit.ingest_path(EXAMPLES / "faq.md", organization=organization)
    one_document = [
        kit.ask(question, organization)
        for question in ("How do I reset my password?", "Who designed the company logo?")
    ]
    assert [answer.abstained for answer in one_document] == [False, True]
    scores = [citation.score for citation in one_document[0].citations]
    assert all(score < 1.0 for score in scores)
