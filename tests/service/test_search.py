"""Full-text search through SupportDesk, on every backend: what a turn indexes, who sees it, what goes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.models import FlakyModel

from threaddesk import InvalidArgument, SupportDesk, open_desk


def found(hits) -> list[tuple[str, str, str]]:
    return [(hit.thread.thread_id, hit.message.role, hit.message.content) for hit in hits]


@pytest.fixture
async def talked(desk: SupportDesk) -> SupportDesk:
    await desk.send(
        "alice_session", "Hi, I'm Alice. My order #1042 arrived damaged.", user_id="alice", create=True
    )
    await desk.send("bob_session", "I'd like a REFUND for my order, please.", user_id="bob", create=True)
    await desk.send("carol_session", "Zoé says the parcel never arrived.", user_id="carol", create=True)
    return desk


async def test_a_turn_indexes_its_question_and_reply(desk: SupportDesk) -> None:
    reply = await desk.send("alice_session", "My order #1042 arrived damaged.", user_id="alice", create=True)
    hits = await desk.search("damaged")
    assert ("alice_session", "user", "My order #1042 arrived damaged.") in found(hits)
    assert {(hit.thread.user_id, hit.thread.message_count) for hit in hits} == {("alice", 2)}
    word = max(reply.text.split(), key=len).strip(".,!?\"'")  # a word the agent said
    said = [(t, r, c) for t, r, c in found(await desk.search(word)) if r == "assistant"]
    assert said == [("alice_session", "assistant", reply.text)]


async def test_words_match_as_prefixes_ignoring_case_and_all_are_required(talked: SupportDesk) -> None:
    assert {t for t, _, _ in found(await talked.search("refund"))} == {"bob_session"}
    assert {t for t, _, _ in found(await talked.search("REFUNDS please"))} == set()  # not a prefix of it
    assert {t for t, _, _ in found(await talked.search("Ord"))} == {"alice_session", "bob_session"}
    assert {t for t, _, _ in found(await talked.search("order 1042"))} == {"alice_session"}
    assert {t for t, _, _ in found(await talked.search("#1042!"))} == {"alice_session"}
    assert {t for t, _, _ in found(await talked.search("zoé parcel"))} == {"carol_session"}
    assert await talked.search("order elephant") == []


async def test_owners_see_only_their_own_threads(talked: SupportDesk) -> None:
    assert {t for t, _, _ in found(await talked.search("order", user_id="bob"))} == {"bob_session"}
    assert await talked.search("damaged", user_id="bob") == []
    assert await talked.search("order", user_id="nobody") == []


@pytest.mark.parametrize(
    "text",
    ['"order', "order*", "NEAR(order damaged)", "order OR 1=1", "a & b | !c", "x:*", "' OR '1'='1"],
)
async def test_query_syntax_in_the_text_is_only_words(talked: SupportDesk, text: str) -> None:
    hits = await talked.search(text)  # never a syntax error from the backend
    assert all(hit.thread.thread_id in {"alice_session", "bob_session", "carol_session"} for hit in hits)


@pytest.mark.parametrize(
    ("text", "limit", "message"),
    [
        ("", 20, "letter or a digit"),
        ("?! ...", 20, "letter or a digit"),
        ("order", 0, "limit must be an integer from 1 to 100"),
        ("order", 101, "limit must be an integer from 1 to 100"),
        (" ".join(f"w{i}" for i in range(17)), 20, "limited to 16 words"),
    ],
)
async def test_bad_searches_are_invalid_arguments(
    talked: SupportDesk, text: str, limit: int, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        await talked.search(text, limit=limit)


async def test_limit_and_best_match_first(desk: SupportDesk) -> None:
    for i in range(6):
        await desk.send(f"t{i}", f"my order {i}", user_id="alice", create=True)
    await desk.send("best", "order order order order", user_id="alice", create=True)
    hits = await desk.search("order", limit=3)
    assert len(hits) == 3
    assert hits[0].thread.thread_id == "best"


async def test_deleted_and_expired_threads_are_not_found(talked: SupportDesk, clock) -> None:
    await talked.threads.delete("alice_session")
    assert await talked.search("damaged") == []
    clock.advance(timedelta(days=2))
    await talked.send("carol_session", "Still waiting for that parcel.", user_id="carol")
    assert len(await talked.threads.cleanup("1d")) == 1  # bob's thread expired
    assert await talked.search("refund") == []
    assert {t for t, _, _ in found(await talked.search("parcel"))} == {"carol_session"}


async def test_refused_and_failed_turns_index_nothing(database_url: str, clock) -> None:
    model = FlakyModel()
    async with open_desk(database_url=database_url, clock=clock, model=model) as desk:
        with pytest.raises(InvalidArgument):
            await desk.send("t1", "secret\x00word", user_id="alice", create=True)
        model.fail = True
        with pytest.raises(Exception, match="unexpectedly|model"):
            await desk.send("t1", "unanswered question", user_id="alice", create=True)
        assert await desk.search("secret") == [] and await desk.search("unanswered") == []


async def test_reindex_restores_what_was_never_indexed_archived_messages_too(
    database_url: str, clock
) -> None:
    from threaddesk import Settings

    settings = Settings(database_url=database_url, context_messages=2, max_state_messages=4)
    async with open_desk(settings, clock=clock) as desk:
        index, desk.index = desk.index, None  # as before the index existed
        for text in ["Hi, I'm Alice.", "My parcel never arrived.", "Any news?", "Thanks anyway."]:
            await desk.send("alice_session", text, user_id="alice", create=True)
        desk.index = index
        assert await desk.search("parcel") == []
        assert await desk.reindex() == 1
        hits = await desk.search("parcel")
        assert ("alice_session", "user", "My parcel never arrived.") in found(hits)  # an archived message
        assert await desk.reindex() == 1  # idempotent: still one row per message
        assert len(await desk.search("parcel")) == len(hits)


async def test_a_snippet_is_one_line_around_the_first_match(desk: SupportDesk) -> None:
    text = "Hello. " * 30 + "My refund\nnever came through, and nobody answers the phone. " + "Bye. " * 30
    await desk.send("t1", text, user_id="alice", create=True)
    # The customer's message (the agent's reply quotes the refund sentence too).
    hit = next(h for h in await desk.search("refund", user_id="alice") if h.message.role == "user")
    snippet = hit.snippet(60)
    assert len(snippet) <= 60 and "\n" not in snippet
    assert "refund never came" in snippet and snippet.startswith("…") and snippet.endswith("…")
    assert hit.to_dict()["message"]["content"] == text
