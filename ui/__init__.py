"""The Streamlit front end (``pip install "bllossom-rag[ui]"``)."""
