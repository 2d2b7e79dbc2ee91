"""The Streamlit page (minimal for now): browse the measures of the documents in corpus/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from indexer import chunk_document, load_corpus

st.set_page_config(page_title="司法改革文件检索", page_icon="⚖️", layout="wide")
st.title("司法改革文件检索")

corpus = load_corpus(Path(__file__).parent / "corpus")
for doc in corpus.documents:
    st.subheader(doc.title)
    for chunk in chunk_document(doc):
        st.text(f"{chunk.measure_no}. {chunk.measure_title}")
