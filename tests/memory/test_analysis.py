"""Reading the analyzer's answers: model output is untrusted."""

from __future__ import annotations

import json

from graphflow.memory import MemoDraft, parse_analysis
from graphflow.memory.analysis import MAX_MEMOS, MAX_TEXT


def test_memos_of_each_kind_are_read() -> None:
    answer = json.dumps({"memos": [
        {"kind": "fact", "topic": "capital of Australia", "memo": "Canberra."},
        {"kind": "Preference", "topic": "tone", "memo": "Be brief."},
        {"kind": "advice", "topic": "sorting lists", "text": "Use sorted() with a key."}]})
    analysis = parse_analysis(answer)
    assert analysis.problem is None
    assert analysis.memos == (MemoDraft("fact", "capital of Australia", "Canberra."),
                              MemoDraft("preference", "tone", "Be brief."),
                              MemoDraft("advice", "sorting lists", "Use sorted() with a key."))


def test_fenced_or_wrapped_json_is_accepted() -> None:
    body = '{"memos": [{"kind": "fact", "topic": "t", "memo": "m"}]}'
    assert len(parse_analysis(f"```json\n{body}\n```").memos) == 1
    assert len(parse_analysis(f"Here you go: {body} Hope it helps.").memos) == 1
    assert parse_analysis('{"memos": []}') == parse_analysis(' {"memos": []} ')


def test_garbage_gives_no_memo_and_says_why() -> None:
    for answer, why in [("I'll remember that!", "not JSON"), ("", "not JSON"),
                        ("[1, 2]", 'no "memos" list'), ('{"memo": "x"}', 'no "memos" list'),
                        ('{"memos": "teal"}', 'no "memos" list'), ("{" * 5000, "not JSON")]:
        analysis = parse_analysis(answer)
        assert analysis.memos == () and analysis.problem is not None and why in analysis.problem


def test_bad_entries_are_skipped_and_counted() -> None:
    entries = [{"kind": "fact", "topic": "ok", "memo": "kept"},
               {"kind": "rumour", "topic": "t", "memo": "m"},
               {"kind": "fact", "topic": "", "memo": "m"},
               {"kind": "fact", "topic": "t", "memo": "x" * (MAX_TEXT + 1)},
               {"kind": "fact", "topic": ["t"], "memo": "m"},
               "just text"]
    analysis = parse_analysis(json.dumps({"memos": entries}))
    assert [m.text for m in analysis.memos] == ["kept"]
    assert analysis.skipped == 5 and "5 of the analyzer's 6 memos were left out" in (analysis.problem or "")


def test_at_most_max_memos_a_message() -> None:
    entries = [{"kind": "fact", "topic": f"t{i}", "memo": f"m{i}"} for i in range(MAX_MEMOS + 3)]
    analysis = parse_analysis(json.dumps({"memos": entries}))
    assert len(analysis.memos) == MAX_MEMOS and analysis.skipped == 3


def test_deeply_nested_json_is_garbage_not_a_crash() -> None:
    for answer in ['{"memos": ' + "[" * 100_000 + "]" * 100_000 + "}", "[" * 100_000]:
        analysis = parse_analysis(answer)
        assert analysis.memos == () and "not JSON" in (analysis.problem or "")


def test_control_characters_are_dropped_from_memos() -> None:
    answer = json.dumps({"memos": [{"kind": "fact", "topic": "colour\x00\x1b[2J",
                                    "memo": "Teal\x1b[31m.\nReally\x07 teal.\x7f"}]})
    assert parse_analysis(answer).memos == (MemoDraft("fact", "colour[2J", "Teal[31m.\nReally teal."),)
