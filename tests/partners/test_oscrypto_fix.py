from __future__ import annotations

import importlib.util
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path

from partners import oscrypto_fix
from serialtrace.settings import PROJECT_ROOT


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_upstream_expression_reads_two_digit_patch_versions() -> None:
    banner = "OpenSSL 3.0.19 27 Jan 2026"
    assert re.search(oscrypto_fix.OLD_REGEX, banner) is None  # the bug: one digit per part
    assert oscrypto_fix.version_from_string(banner) == (3, 0, 19)
    assert oscrypto_fix.version_from_string("OpenSSL 1.1.1w  11 Sep 2023") == (1, 1, 1, "w")
    assert oscrypto_fix.version_from_string("OpenSSL 3.10.2 1 Jan 2030") == (3, 10, 2)
    assert oscrypto_fix.version_from_string("no version here") is None


def test_the_installed_oscrypto_source_is_patched_or_already_fixed() -> None:
    spec = importlib.util.find_spec("oscrypto._openssl._libcrypto_ctypes")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()
    patched = oscrypto_fix.patch_source(source)
    assert oscrypto_fix.NEW_PATTERN in patched
    assert oscrypto_fix.OLD_PATTERN not in patched


def test_oscrypto_detects_this_machines_openssl_with_the_fix() -> None:
    """A fresh interpreter: import pyas2lib through the fix, then compare oscrypto's idea
    of the libcrypto version with the ssl module's, and sign + verify with oscrypto."""
    result = _run(
        "from partners.oscrypto_fix import import_pyas2lib\n"
        "import_pyas2lib()\n"
        "from oscrypto._openssl._libcrypto import libcrypto_version_info\n"
        "from oscrypto import asymmetric\n"
        "pub, priv = asymmetric.generate_pair('ec', curve='secp256r1')\n"
        "sig = asymmetric.ecdsa_sign(priv, b'x', 'sha256')\n"
        "asymmetric.ecdsa_verify(pub, sig, b'x', 'sha256')\n"
        "print('.'.join(str(p) for p in libcrypto_version_info[:3]))\n"
    )
    assert result.returncode == 0, result.stderr
    major, minor, _, patch, _ = ssl.OPENSSL_VERSION_INFO
    assert result.stdout.strip() == f"{major}.{minor}.{patch}"


def test_without_the_fix_oscrypto_fails_on_this_openssl_when_the_patch_has_two_digits() -> None:
    """Documents the bug the fix removes (on OpenSSL x.y.10 and later)."""
    result = _run("import oscrypto.asymmetric")
    patch = ssl.OPENSSL_VERSION_INFO[3]
    source = Path(str(importlib.util.find_spec("oscrypto").origin)).parent  # type: ignore[union-attr]
    buggy = oscrypto_fix.OLD_PATTERN in (source / "_openssl" / "_libcrypto_ctypes.py").read_text()
    if patch >= 10 and buggy:
        assert result.returncode != 0
        assert "Error detecting the version of libcrypto" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
