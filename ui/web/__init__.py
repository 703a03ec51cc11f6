"""The Streamlit app (``pip install "bllossom-rag[ui]"``): Chat, Library and Dashboard pages."""
