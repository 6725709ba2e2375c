"""Questions inside a conversation: new questions as if asked alone, follow-ups resolved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragkit import RagKit, Turn
from ragkit.conversation import FollowUp, classify, resolve

FOLLOW_UPS = Path(__file__).parent / "data" / "followups.jsonl"

TEN_QUESTIONS = [
    "How do I reset my password?",
    "Where are the log files on macOS?",
    "How much does the Team plan cost per year?",
    "What does error E-1042 mean?",
    "Can I get a refund on a monthly plan?",
    "How do I turn on two-factor authentication?",
    "What is the default cache size limit?",
    "Which identity providers were tested for single sign-on?",
    "How do I export all of my data?",
    "What are the minimum system requirements?",
]


@pytest.mark.parametrize(
    "question",
    [
        "Where are the log files on macOS?",
        "How many epochs are there?",
        "What is the only divisor besides 1 that a prime number can have?",
        "Wie setze ich mein Passwort zurück?",
    ],
)
def test_self_contained_questions_are_not_follow_ups(question: str) -> None:
    assert classify(question) is not FollowUp.ELLIPTICAL


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How do I fix it?", FollowUp.ELLIPTICAL),
        ("And on macOS?", FollowUp.ELLIPTICAL),
        ("What about monthly plans?", FollowUp.REFERENCE),
        ("How long does that take?", FollowUp.ELLIPTICAL),
        ("Can I protect it with a password?", FollowUp.REFERENCE),
        ("What about on versions before 3.6?", FollowUp.REFERENCE),
    ],
)
def test_follow_ups_are_recognised_by_their_words(question: str, expected: FollowUp) -> None:
    assert classify(question) is expected


def test_a_follow_up_is_searched_with_the_previous_exchange() -> None:
    history = [Turn("user", "Where are the log files on Windows?"), Turn("assistant", "In X [1].")]
    resolution = resolve("And on macOS?", history)
    assert "log files" in resolution.search_query and "macOS" in resolution.search_query
    assert resolve("Where are the log files on macOS?", history).search_query == (
        "Where are the log files on macOS?"
    )


def test_a_new_question_in_a_conversation_is_answered_as_if_asked_alone(
    kit: RagKit, support_org: str
) -> None:
    history: list[Turn] = []
    for question in TEN_QUESTIONS:
        in_conversation = kit.ask(question, support_org, history=history)
        alone = kit.ask(question, support_org)
        assert in_conversation.text == alone.text, question
        assert [c.chunk_id for c in in_conversation.citations] == [
            c.chunk_id for c in alone.citations
        ], question
        history += [Turn("user", question), Turn("assistant", in_conversation.text)]


def test_how_do_i_fix_it_after_an_error_code_gets_the_steps(kit: RagKit, support_org: str) -> None:
    first = kit.ask("What does error E-1042 mean?", support_org)
    history = [Turn("user", "What does error E-1042 mean?"), Turn("assistant", first.text)]
    answer = kit.ask("How do I fix it?", support_org, history=history)
    assert "Resolve conflict" in answer.text
    assert answer.citations[0].source.endswith("troubleshooting.pdf")


def test_a_follow_up_about_older_versions_gets_the_older_versions_steps(
    kit: RagKit, support_org: str
) -> None:
    history: list[Turn] = []
    for question in ("What does error E-1042 mean?", "How do I fix it?"):
        history += [Turn("user", question), Turn("assistant", kit.ask(question, support_org).text)]
    answer = kit.ask("What about on versions before 3.6?", support_org, history=history)
    assert "by hand" in answer.text
    assert "The current version is 3.6" not in answer.text
    assert answer.citations[0].source.endswith("troubleshooting.pdf")


def test_an_elliptical_follow_up_keeps_the_topic(kit: RagKit, support_org: str) -> None:
    first = kit.ask("Where are the log files on Windows?", support_org)
    history = [Turn("user", "Where are the log files on Windows?"), Turn("assistant", first.text)]
    answer = kit.ask("And on macOS?", support_org, history=history)
    assert "Library/Logs" in answer.text


def test_follow_up_dialogues_cite_the_expected_document(kit: RagKit, support_org: str) -> None:
    """The follow-up set (tests/data/followups.jsonl): at least 90 % of follow-ups cited right."""
    dialogues = [json.loads(line) for line in FOLLOW_UPS.read_text().splitlines() if line]
    assert len(dialogues) >= 30
    cited_right = follow_ups = 0
    for dialogue in dialogues:
        history: list[Turn] = []
        for position, turn in enumerate(dialogue["turns"]):
            answer = kit.ask(turn["q"], support_org, history=history)
            if position:
                follow_ups += 1
                cited_right += any(c.source.endswith(turn["doc"]) for c in answer.citations)
            history += [Turn("user", turn["q"]), Turn("assistant", answer.text)]
    assert cited_right / follow_ups >= 0.9, f"{cited_right}/{follow_ups}"
