"""Streamlit page scripts, run by ``st.navigation`` in ``ui/web/app.py`` (not imported)."""
