"""The store as a LangChain ``VectorStore``: LangChain's own standard suite, plus access control."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from rag.access import OPERATOR, PUBLIC, Access
from rag.retrieval.vectorstore import StoreVectorStore
from rag.store import Store
from rag.store.postgres import PostgresStore


class TestStoreVectorStoreStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[StoreVectorStore]:
        with Store(tmp_path / "data") as store:
            yield StoreVectorStore(store, self.get_embeddings(), collection="lc")


class TestPostgresVectorStoreStandard(VectorStoreIntegrationTests):
    """The same standard suite on the PostgreSQL store."""

    @pytest.fixture
    def vectorstore(self, store_url: str, tmp_path: Path) -> Iterator[StoreVectorStore]:
        with PostgresStore(store_url, tmp_path / "cache") as store:
            yield StoreVectorStore(store, self.get_embeddings(), collection="lc")


def test_documents_survive_reopening_with_metadata(tmp_path: Path):
    embedding = DeterministicFakeEmbedding(size=16)
    with Store(tmp_path / "data") as store:
        StoreVectorStore(store, embedding).add_documents(
            [Document(page_content="연차 휴가는 15일", metadata={"source": "hr.md", "page": 2})],
            ids=["leave"],
        )
    with Store(tmp_path / "data") as store:
        vectorstore = StoreVectorStore(store, embedding)
        [found] = vectorstore.similarity_search("연차 휴가는 15일", k=1)
        assert found == Document(
            id="leave", page_content="연차 휴가는 15일", metadata={"source": "hr.md", "page": 2}
        )
        assert vectorstore.get_by_ids(["leave"]) == [found]


def test_restricted_documents_only_reach_their_group(tmp_path: Path):
    embedding = DeterministicFakeEmbedding(size=16)
    with Store(tmp_path / "data") as store:
        StoreVectorStore(store, embedding, groups=["hr"]).add_texts(["salary table"], ids=["pay"])
        StoreVectorStore(store, embedding).add_texts(["lunch menu"], ids=["menu"])

        def visible(access: Access) -> set[str]:
            vectorstore = StoreVectorStore(store, embedding, access=access)
            found = {d.id for d in vectorstore.similarity_search("salary table", k=5)}
            retrieved = {d.id for d in vectorstore.as_retriever(search_kwargs={"k": 5}).invoke("x")}
            assert retrieved == found
            assert {d.id for d in vectorstore.get_by_ids(["pay", "menu"])} == found
            return found

        assert visible(PUBLIC) == {"menu"}
        assert visible(Access.for_groups(["legal"])) == {"menu"}
        assert visible(Access.for_groups(["hr"])) == {"pay", "menu"}
        assert visible(OPERATOR) == {"pay", "menu"}


def test_delete_without_ids_empties_the_collection(tmp_path: Path):
    with Store(tmp_path / "data") as store:
        vectorstore = StoreVectorStore(store, DeterministicFakeEmbedding(size=8))
        vectorstore.add_texts(["a", "b", "c"])
        vectorstore.delete()
        assert vectorstore.similarity_search("a", k=3) == []
        assert store.collection("default").chunks == 0
