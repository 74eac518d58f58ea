"""A home's partners.toml for the Transaction History tests: the embedded demo partners,
none asking for the Transaction History, and the given ``[products]`` settings."""

from __future__ import annotations

from importlib import resources

from serialtrace.settings import Home


def write_partners_toml(home: Home, *products: str) -> None:
    """``<home>/partners.toml``: the demo partners with ``transaction_history = false`` and
    ``products`` (TOML lines such as ``'transaction_history_gtins = ["…"]'``) as ``[products]``."""
    text = resources.files("partners.defaults").joinpath("partners.toml").read_text()
    _, partners = text.split("[[partner]]", 1)
    partners = partners.replace("transaction_history = true", "transaction_history = false")
    home.root.mkdir(parents=True, exist_ok=True)
    (home.root / "partners.toml").write_text(
        "\n".join(["[products]", *products, "", f"[[partner]]{partners}"]), encoding="utf-8"
    )
