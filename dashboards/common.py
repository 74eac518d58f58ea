"""What every page needs: the home's warehouse, or a clear message when there is none."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from serialtrace.settings import Home, resolve_home


def home_with_warehouse() -> tuple[Home, Path]:
    home = resolve_home()
    if not home.warehouse.exists():
        st.error(f"No warehouse at {home.warehouse}. Run `serialtrace demo` first.")
        st.stop()
    return home, home.warehouse
