"""Streamlit page scripts, run by ``st.navigation`` in ``ui/app.py`` (not imported)."""
