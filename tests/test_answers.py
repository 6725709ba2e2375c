"""Answers with citations from the extractive answerer, on the example documents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ragkit import ABSTENTION, Delta, Done, RagKit, Retrieved, Turn
from ragkit.extractive import SentenceVectors
from ragkit.sentences import bounds, display_text, is_table_header, split_sentences


@pytest.mark.parametrize(
    ("question", "expected", "source", "page"),
    [
        ("How long is the password reset link valid?", "30 minutes", "faq.md", None),
        ("What does error E-1042 mean?", "edited on two devices", "troubleshooting.pdf", 2),
        (
            "How do I clear the local cache on the desktop app?",
            "Clear local cache",
            "troubleshooting.pdf",
            3,
        ),
        ("How many members can a Free workspace have?", "5", None, None),
    ],
)
def test_answers_quote_and_cite_the_passage_that_holds_the_fact(
    kit: RagKit,
    support_org: str,
    question: str,
    expected: str,
    source: str | None,
    page: int | None,
) -> None:
    answer = kit.ask(question, support_org)
    assert not answer.abstained
    assert expected in answer.text
    supporting = [c for c in answer.citations if expected in c.quote]
    assert supporting, answer.citations
    if source:
        assert any(Path(c.source).name == source for c in supporting)
    if page:
        assert any(c.page == page for c in supporting)


def test_citations_point_at_the_chunk_that_holds_the_quoted_text(
    kit: RagKit, support_org: str
) -> None:
    from ragkit.schema import Chunk

    answer = kit.ask("What is the refund window for annual plans?", support_org)
    assert answer.citations
    with kit.database.sessions() as session:
        for citation in answer.citations:
            chunk = session.get(Chunk, citation.chunk_id)
            assert chunk is not None and chunk.document_id == citation.document_id
            assert citation.quote in chunk.content
            assert f"[{citation.n}]" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "How do I bake sourdough bread?",
        "Who won the 1998 football world cup?",
    ],
)
def test_off_topic_questions_are_answered_with_an_abstention(
    kit: RagKit, support_org: str, question: str
) -> None:
    answer = kit.ask(question, support_org)
    assert answer.abstained
    assert answer.text == ABSTENTION
    assert answer.citations == []


def test_an_empty_knowledge_base_abstains(kit: RagKit, organization: str) -> None:
    answer = kit.ask("How do I reset my password?", organization)
    assert answer.abstained and answer.citations == []


def test_a_follow_up_is_searched_with_the_previous_question(kit: RagKit, support_org: str) -> None:
    history = [
        Turn("user", "How do I fix the sync conflict error E-1042?"),
        Turn("assistant", "Open the note and click Resolve conflict [1]."),
    ]
    answer = kit.ask("Which app version do I need for that?", support_org, history=history)
    assert "E-1042" in answer.search_query
    assert not answer.abstained


def test_json_shape_of_an_answer(kit: RagKit, support_org: str) -> None:
    data = kit.ask("Where are the log files on macOS?", support_org).to_json()
    assert set(data) == {"answer", "abstained", "citations"}
    assert set(data["citations"][0]) == {
        "n",
        "chunk_id",
        "document_id",
        "title",
        "source",
        "page",
        "section",
        "quote",
        "score",
    }


def test_streaming_yields_chunks_then_text_then_the_answer(kit: RagKit, support_org: str) -> None:
    events = list(kit.stream("How long is the password reset link valid?", support_org))
    assert isinstance(events[0], Retrieved) and events[0].chunks
    text = "".join(event.text for event in events[1:-1] if isinstance(event, Delta))
    assert isinstance(events[-1], Done) and text == events[-1].answer.text


def test_sentences_keep_lists_with_their_introduction() -> None:
    text = "Plans differ:\n- Free: 5 members\n- Pro: 10 members\n\nVersion 3.6.0 adds sync. Done!"
    sentences = [text[start:end] for start, end in split_sentences(text)]
    assert sentences == [
        "Plans differ:\n- Free: 5 members\n- Pro: 10 members",
        "Version 3.6.0 adds sync.",
        "Done!",
    ]


READABILITY_QUESTIONS = [
    "How much does the Team plan cost per year?",
    "What is the default cache size limit?",
    "How do I turn on two-factor authentication?",
    "How do I export all of my data?",
    "How much storage does the Free plan have?",
    "Can I get a refund on a monthly plan?",
]


@pytest.mark.parametrize("question", READABILITY_QUESTIONS)
def test_answers_carry_no_raw_markup_and_no_repeated_sentence(
    kit: RagKit, support_org: str, question: str
) -> None:
    answer = kit.ask(question, support_org)
    assert not answer.abstained
    for markup in ("**", "|", "`", "## ", "_usd"):
        assert markup not in answer.text, (markup, answer.text)
    sentences = [part.strip() for part in re.split(r"\[\d+\]", answer.text) if part.strip()]
    assert len(sentences) == len(set(sentences)), answer.text
    for group in re.findall(r"(?:\[\d+\])+", answer.text):  # "[1][3]", never "[3][1]"
        cited = [int(number) for number in re.findall(r"\d+", group)]
        assert cited == sorted(cited), answer.text


def test_a_table_row_is_answered_with_its_column_headers(kit: RagKit, support_org: str) -> None:
    answer = kit.ask("How much does the Team plan cost per year?", support_org)
    assert "Team — Monthly: $14 per member/month; Annual: $144 per member/year" in answer.text
    quote = next(c.quote for c in answer.citations if "$144" in c.quote)
    assert quote.startswith("| Team |")  # the citation stays verbatim


def test_the_same_fact_in_two_documents_is_said_once_citing_both(
    kit: RagKit, support_org: str
) -> None:
    answer = kit.ask("What is the default cache size limit?", support_org)
    refund = kit.ask("Can I get my money back for an annual plan?", support_org)
    assert answer.text.count("5 GB") == 1, answer.text
    for group in re.findall(r"(?:\[\d+\])+", answer.text + refund.text):
        cited = [int(number) for number in re.findall(r"\d+", group)]
        assert cited == sorted(cited), refund.text
    assert "[1][2]" in answer.text
    assert {c.source.rsplit("/", 1)[-1] for c in answer.citations} == {
        "troubleshooting.pdf",
        "release-notes.txt",
    }


def test_how_do_i_questions_get_the_list_of_steps(kit: RagKit, support_org: str) -> None:
    answer = kit.ask("How do I fix a sync conflict?", support_org)
    assert "To fix a sync conflict:" in answer.text
    assert "Resolve conflict" in answer.text and "Compare the two versions" in answer.text


def test_an_error_code_the_model_does_not_know_is_still_answered(
    kit: RagKit, support_org: str
) -> None:
    answer = kit.ask("What does E-1017 mean?", support_org)
    assert "Storage quota exceeded" in answer.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What about on versions before 3.6?", {("below", "3.6")}),
        ("On versions earlier than 3.6, copy the changes", {("below", "3.6")}),
        ("Click Resolve conflict (version 3.6 and later).", {("above", "3.6")}),
        ("Security keys require version 3.5 or later.", {("above", "3.5")}),
        ("The current version is 3.6.", set()),
        ("Support works from 9 to 5.", set()),
    ],
)
def test_bounds_are_numbers_with_the_direction_they_compare(
    text: str, expected: set[tuple[str, str]]
) -> None:
    assert bounds(text) == expected


def test_display_text_drops_markup_and_spells_out_table_rows() -> None:
    passage = "| Plan | Monthly |\n|------|---------|\n| Pro | $8/month |\n"
    start = passage.index("| Pro")
    row = passage[start : passage.index("\n", start)]
    assert display_text(row, passage, start) == "Pro — Monthly: $8/month"
    assert is_table_header(passage, 0, passage.index("\n"))
    assert display_text("See **[the guide](https://x.example)** <b>now</b> `.md`") == (
        "See the guide now .md"
    )
    assert display_text("plan: Pro; monthly_price_usd: 8") == "plan: Pro; monthly price usd: 8"


@pytest.mark.parametrize(
    "question",
    [
        "How do I bake sourdough bread?",
        "Who won the 2018 World Cup?",
        "What is the capital of France?",
    ],
)
def test_a_one_document_knowledge_base_abstains_on_unrelated_questions(
    kit: RagKit, example_docs: Path, question: str
) -> None:
    organization = f"one-doc-{abs(hash(question)) % 10**8}"
    kit.ingest_file(example_docs / "refund-policy.docx", organization)
    answer = kit.ask(question, organization)
    assert answer.abstained and answer.citations == []


def test_citation_scores_are_similarities_that_mean_the_same_in_every_answer(
    kit: RagKit, support_org: str
) -> None:
    """Not scaled per query: the best citation of an answer is not simply 1.0."""
    for question in ("How long is the password reset link valid?", "What does E-1042 mean?"):
        answer = kit.ask(question, support_org)
        scores = [citation.score for citation in answer.citations]
        assert scores and all(kit.settings.abstain_threshold <= score < 1.0 for score in scores)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Wie wird das Wetter morgen in Berlin sein?", "Wissensdatenbank"),
        ("Quel temps fera-t-il demain à Marseille ?", "base de connaissances"),
        ("¿Qué tiempo hará mañana en Madrid?", "base de conocimientos"),
    ],
)
def test_the_abstention_is_in_the_language_of_the_question(
    kit: RagKit, support_org: str, question: str, expected: str
) -> None:
    answer = kit.ask(question, support_org)
    assert answer.abstained and expected in answer.text


def test_sentence_vectors_are_embedded_once_and_bounded(
    kit: RagKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = kit.model_named(kit.settings.embed_model)
    vectors = SentenceVectors(size=3)
    first = vectors.embed(model, ["Reset links last a day.", "Logs live in Library/Logs."])

    def refuse(texts: object) -> None:
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch.setattr(model, "embed_texts", refuse)
    again = vectors.embed(model, ["Logs live in Library/Logs.", "Reset links last a day."])
    assert again.tolist() == [first[1].tolist(), first[0].tolist()]
    monkeypatch.undo()
    vectors.embed(model, ["One more.", "And another.", "And a third one."])
    assert len(vectors._vectors) == 3
