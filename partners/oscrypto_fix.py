"""Make oscrypto 1.3.0 (pyas2lib's crypto backend) detect OpenSSL 3.0.10 and later.

oscrypto 1.3.0 (the last release on PyPI) reads the libcrypto version with the regular
expression ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``: one digit per part. On "OpenSSL 3.0.19 27 Jan
2026" the third part has two digits, the word boundary after "3.0.1" never matches and
``import oscrypto.asymmetric`` (so ``import pyas2lib``) raises ``LibraryNotFoundError: Error
detecting the version of libcrypto``. Upstream fixed it on master (wbond/oscrypto, issue
#75/#78, commit d5f3437) by allowing several digits per part, but never released it.

This module applies exactly that upstream change when oscrypto's two libcrypto binding
modules (``_libcrypto_ctypes`` and ``_libcrypto_cffi``) are imported: a meta path finder
loads their source, replaces the one-digit pattern by the several-digit one and compiles
the result under the original file name (tracebacks still point at the real file). If the
installed oscrypto no longer contains the old pattern (a fixed release), the module loads
unchanged. Nothing is silenced: any other failure of oscrypto surfaces as before.

Import :func:`install` (or this module's :func:`import_pyas2lib`) before pyas2lib.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

PATCHED_MODULES = frozenset(
    {"oscrypto._openssl._libcrypto_ctypes", "oscrypto._openssl._libcrypto_cffi"}
)
# the literal as written in oscrypto 1.3.0's source, and its upstream replacement
OLD_PATTERN = "'\\\\b(\\\\d\\\\.\\\\d\\\\.\\\\d[a-z]*)\\\\b'"
NEW_PATTERN = "'\\\\b(\\\\d+\\\\.\\\\d+\\\\.\\\\d+[a-z]*)\\\\b'"
# the same two expressions as regular expressions (for version_from_string and tests)
OLD_REGEX = r"\b(\d\.\d\.\d[a-z]*)\b"
NEW_REGEX = r"\b(\d+\.\d+\.\d+[a-z]*)\b"


def version_from_string(version_string: str) -> tuple[int | str, ...] | None:
    """The version tuple oscrypto derives from an ``OpenSSL_version(0)`` string, with the
    upstream (several digits per part) expression; None if it holds no version."""
    match = re.search(NEW_REGEX, version_string)
    if match is None:
        return None
    parts = re.sub(r"(\d)([a-z]+)", r"\1.\2", match.group(1)).split(".")
    return tuple(int(part) if part.isdigit() else part for part in parts)


def patch_source(source: str) -> str:
    """oscrypto's binding source with the version expression fixed (unchanged if fixed)."""
    return source.replace(OLD_PATTERN, NEW_PATTERN)


class _PatchedLoader(importlib.machinery.SourceFileLoader):
    def get_data(self, path: str) -> bytes:
        data = super().get_data(path)
        if path.endswith(".py"):
            return patch_source(data.decode("utf-8")).encode("utf-8")
        return data

    def get_code(self, fullname: str) -> Any:
        # compile from the patched source, never from a cached .pyc of the original
        source = self.get_data(self.get_filename(fullname))
        return compile(source, self.get_filename(fullname), "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in PATCHED_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return spec
        loader = _PatchedLoader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=loader)


_FINDER = _Finder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent). Must run before oscrypto's
    libcrypto bindings are imported; a binding already imported is left as it is."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def import_pyas2lib() -> ModuleType:
    """``pyas2lib``, imported with the fix installed."""
    install()
    import pyas2lib

    module: ModuleType = pyas2lib
    return module
