"""The retrieve node and RetrieveChat: the UPDATE CONTEXT loop, its limit, citations in
show and the report, embeddings over HTTP, and the example graphs offline."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from graphflow import Store, load
from graphflow.kinds.retrieve import asks_for_more
from graphflow.knowledge import KnowledgeIndex, OpenAIEmbeddings
from graphflow.models import ScriptedModel
from graphflow.patterns.retrieval import initiate_retrieve_chat_sync, retrieve_chat

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for i in range(6):
        (folder / f"part{i}.md").write_text(f"# Part {i}\nThe lemur fact number {i} is "
                                            f"{'x' * 20}.\n")  # fmt: skip
    (folder / "answer.md").write_text("# Answer\nLemurs live only on Madagascar.\n")
    return folder


def contexts(messages: list) -> list[str]:
    return [m.text for m in messages if m.node == "ragproxy"]


def test_update_context_sends_the_next_chunks(docs: Path, tmp_path: Path) -> None:
    model = ScriptedModel(["UPDATE CONTEXT", "Sorry, nothing here. update context.",
                           "Lemurs live only on Madagascar [1]."])  # fmt: skip
    result = initiate_retrieve_chat_sync(
        "Where do lemurs live?", index=tmp_path / "i.sqlite", docs_path=[docs], n_results=2,
        models=model, store=tmp_path / "runs.db")  # fmt: skip
    assert result.status == "completed"
    assert result.summary == "Lemurs live only on Madagascar [1]."
    sent = contexts(result.messages)
    assert len(sent) == 3
    labels = [{line.split(" ")[1] for line in text.split("\n") if line.startswith("[")}
              for text in sent]  # fmt: skip
    assert all(len(found) == 2 for found in labels)
    assert not (labels[0] & labels[1]) and not (labels[1] & labels[2])  # never the same chunk
    assert all(c["source"] == "kb/" + Path(c["source"]).name for c in result.citations)
    assert [c["label"] for c in result.citations] == [1, 2]
    # the assistant saw only the latest context, as AutoGen clears the history
    assert "Where do lemurs live?" in sent[2]


def test_update_context_stops_at_its_limit(docs: Path, tmp_path: Path) -> None:
    result = initiate_retrieve_chat_sync(
        "Where do lemurs live?", index=tmp_path / "i.sqlite", docs_path=[docs], n_results=1,
        max_updates=2, models=ScriptedModel([], default="UPDATE CONTEXT"))  # fmt: skip
    assert result.status == "completed"
    assert result.reason == "ragproxy: no answer after 2 context updates (max_updates)"
    assert len(contexts(result.messages)) == 3


def test_no_more_context_ends_the_chat(docs: Path, tmp_path: Path) -> None:
    result = initiate_retrieve_chat_sync(
        "lemur madagascar", index=tmp_path / "i.sqlite", docs_path=[docs], n_results=5,
        max_updates=10, models=ScriptedModel([], default="UPDATE CONTEXT"))  # fmt: skip
    assert result.reason == "ragproxy: no more context"
    assert len(contexts(result.messages)) == 2  # 7 chunks: 5, then 2


def test_update_context_is_read_at_the_start_or_end_only() -> None:
    assert asks_for_more("UPDATE CONTEXT") and asks_for_more("  **Update context**  ")
    assert asks_for_more("I cannot tell from this.\nUPDATE CONTEXT")
    assert not asks_for_more("Reply UPDATE CONTEXT if the context lacks it, says the prompt.")
    assert not asks_for_more("")


def test_citations_show_in_show_and_report(docs: Path, tmp_path: Path) -> None:
    from graphflow.report import build_report
    from graphflow.show import print_run

    with Store(tmp_path / "runs.db") as store:
        result = initiate_retrieve_chat_sync(
            "Where do lemurs live?", index=tmp_path / "i.sqlite", docs_path=[docs],
            n_results=2, models=ScriptedModel(["On Madagascar [1]."]), store=store)  # fmt: skip
        first = result.citations[0]
        assert first["source"] == "kb/answer.md" and (first["start_line"], first["end_line"]) == (1, 2)
        out = io.StringIO()
        print_run(Console(file=out, width=200), store, result.run_id)
        shown = out.getvalue()
        assert "sources (retrieved by ragproxy):" in shown
        assert "[1] kb/answer.md:1-2 (Answer)" in shown
        page = build_report(store, result.run_id)
        assert 'class="callout sources"' in page
        assert "[1] kb/answer.md:1-2 (Answer)" in page


def test_hybrid_search_over_an_embeddings_endpoint(docs: Path, tmp_path: Path) -> None:
    from graphflow.testing import ModelServer

    with ModelServer() as server:
        embedder = OpenAIEmbeddings({"model": "hashed", "base_url": server.base_url})
        with KnowledgeIndex(tmp_path / "i.sqlite", embedder=embedder) as index:
            index.add([docs])
            assert index.stats()["vectors"] == 7
            for mode in ("vector", "hybrid", "auto"):
                hit = index.search("where do lemurs live madagascar", 2, mode=mode)[0]
                assert hit.chunk.source == "kb/answer.md", mode
            assert set(index.search("madagascar", 1, mode="hybrid")[0].ranks) == {"bm25", "vector"}
        other = OpenAIEmbeddings({"model": "other", "base_url": server.base_url})
        with pytest.raises(Exception, match="holds vectors of"):
            KnowledgeIndex(tmp_path / "i.sqlite", embedder=other).add([docs])


def test_retrieve_chat_graph_compiles_with_code_execution(tmp_path: Path) -> None:
    graph = retrieve_chat(tmp_path / "i.sqlite", code_execution="local").compile()
    assert sorted(graph.nodes) == ["assistant", "done", "ragproxy", "run_code"]


def test_bad_options_are_definition_errors(tmp_path: Path) -> None:
    from graphflow.errors import DefinitionError

    with pytest.raises(DefinitionError, match="needs embedding"):
        retrieve_chat(tmp_path / "i.sqlite", search="hybrid").compile()
    with pytest.raises(DefinitionError, match="input_context"):
        retrieve_chat(tmp_path / "i.sqlite", prompt="Q: {input_question}").compile()


def test_missing_docs_path_fails_the_run_clearly(tmp_path: Path) -> None:
    result = initiate_retrieve_chat_sync("q", index=tmp_path / "i.sqlite",
                                         docs_path=[tmp_path / "nowhere"],
                                         models=ScriptedModel(["a"]))  # fmt: skip
    assert result.status == "failed"
    assert "docs_path" in (result.error or "") and "nowhere" in (result.error or "")


@pytest.mark.parametrize("name", ["retrieve_chat", "retrieve_code"])
def test_examples_answer_from_the_project_docs(name: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # the index file is made under the current directory
    graph = load(str(ROOT / "graphs" / f"{name}.yaml"))
    question = ("How does a run that waits for a person continue?" if name == "retrieve_chat"
                else "Write a function that finds the fenced code blocks of a message.")
    with Store(tmp_path / "runs.db") as store:
        result = graph.run_sync(question, store=store, work_dir=tmp_path / "work")
        assert result.status == "completed", (result.reason, result.error)
        citations = result.variables["ragproxy_citations"]
        assert citations and all(c["source"].startswith("docs/") for c in citations)
        for c in citations:  # the cited lines are the lines of the file
            lines = (ROOT / c["source"]).read_text().split("\n")
            assert 1 <= c["start_line"] <= c["end_line"] <= len(lines)
        if name == "retrieve_code":
            assert result.variables["exit_code"] == 0
        assert "[1]" in result.messages[-1].text
        assert (tmp_path / "graphflow-work/knowledge/graphflow-docs.sqlite").is_file()
        dot = str(graph.to_dot())
        assert "ragproxy" in dot and "UPDATE CONTEXT" in dot


def test_autogen_retrieve_agents(docs: Path, tmp_path: Path) -> None:
    from graphflow.autogen import RetrieveAssistantAgent, RetrieveUserProxyAgent
    from graphflow.errors import DefinitionError
    from graphflow.testing import ModelServer

    with ModelServer(["UPDATE CONTEXT", "On Madagascar [1]."]) as server:
        assistant = RetrieveAssistantAgent(
            "assistant", system_message="You are a helpful assistant.",
            llm_config={"config_list": [{"model": "scripted", "base_url": server.base_url}],
                        "cache_seed": None})  # fmt: skip
        proxy = RetrieveUserProxyAgent("ragproxyagent", retrieve_config={
            "task": "qa", "docs_path": str(docs), "index": str(tmp_path / "i.sqlite"),
            "chunk_token_size": 200})  # fmt: skip
        result = proxy.initiate_chat(assistant, message=proxy.message_generator,
                                     problem="Where do lemurs live?", n_results=2)  # fmt: skip
    assert result.status == "completed", result.error
    assert result.summary == "On Madagascar [1]."
    assert len([m for m in result.messages if m.node == "ragproxyagent"]) == 2
    assert result.citations and proxy.problem == "Where do lemurs live?"
    with pytest.raises(DefinitionError, match="unknown key 'docs'"):
        RetrieveUserProxyAgent(retrieve_config={"docs": "x"})


def test_sqlite_vec_ranks_as_the_python_scan_does(docs: Path, tmp_path: Path) -> None:
    from graphflow.testing.embeddings import hashed_embedding

    class Hashed:
        name = "hashed-256"

        def embed(self, texts: list[str]) -> list[list[float]]:
            return [hashed_embedding(t) for t in texts]

    with KnowledgeIndex(tmp_path / "i.sqlite", embedder=Hashed()) as index:
        index.add([docs])
        if not index.has_sqlite_vec:
            pytest.skip("sqlite-vec cannot be loaded here (pip install 'graphflow[knowledge]')")
        in_sql = index.search("lemurs madagascar fact", 5, mode="vector")
        index.has_sqlite_vec = False
        in_python = index.search("lemurs madagascar fact", 5, mode="vector")
    assert [h.chunk_id for h in in_sql] == [h.chunk_id for h in in_python]
    for a, b in zip(in_sql, in_python, strict=True):
        assert a.score == pytest.approx(b.score, abs=1e-5)


def test_adding_an_embedder_later_embeds_every_file_once(docs: Path, tmp_path: Path) -> None:
    from graphflow.testing.embeddings import hashed_embedding

    class Counting:
        name = "hashed-256"
        texts = 0

        def embed(self, texts: list[str]) -> list[list[float]]:
            Counting.texts += len(texts)
            return [hashed_embedding(t) for t in texts]

    with KnowledgeIndex(tmp_path / "i.sqlite") as index:
        assert index.add([docs]).added == 7
    with KnowledgeIndex(tmp_path / "i.sqlite", embedder=Counting()) as index:
        assert index.add([docs]).updated == 7
        assert index.stats()["vectors"] == 7 and Counting.texts == 7
        assert index.add([docs]).unchanged == 7 and Counting.texts == 7
    with KnowledgeIndex(tmp_path / "i.sqlite") as index:  # BM25 only again: vectors kept
        assert index.add([docs]).unchanged == 7 and index.stats()["vectors"] == 7
