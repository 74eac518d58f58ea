"""The ``serialtrace`` command line. Every subcommand accepts ``--home DIR``, ``--user NAME``
and ``--client ID`` (serialtrace/acting.py decides who may run what, for which client)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from serialtrace.errors import SerialtraceError
from serialtrace.settings import CLIENT_ENV, HOME_ENV, PROJECT_ROOT, resolve_home

_Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

if TYPE_CHECKING:
    from serialtrace.demo import DemoResult


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port (1-65535), got {value}")
    return value


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (``only``) the built-ins plus one command group: a
    process that runs one command imports only that group's modules (a line bridge
    does not load the PDF, AS2 or dashboard libraries)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        default=argparse.SUPPRESS,
        help=f"home folder (default: ${HOME_ENV} or ./.serialtrace)",
    )
    _add_acting_options(common)
    parser: argparse.ArgumentParser = _Parser(
        prog="serialtrace", description=__doc__, parents=[common]
    )
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    demo = sub.add_parser("demo", parents=[common], help="run one simulated batch end to end")
    demo.add_argument("--units", type=_positive_int, default=10_000, help="units to pack")
    demo.add_argument("--seed", type=int, default=None, help="seed of the simulated faults")
    demo.set_defaults(func=_cmd_demo)

    mat = sub.add_parser(
        "materialize", parents=[common], help="build the warehouse and the EPCIS documents"
    )
    mat.add_argument(
        "--select",
        help="Dagster asset selection, e.g. 'key:serial_lifecycle+' (default: everything)",
    )
    mat.set_defaults(func=_cmd_materialize)

    dash = sub.add_parser("dashboards", parents=[common], help="serve the Streamlit app")
    dash.add_argument("--port", type=_port, default=8501)
    dash.add_argument("--address", default="127.0.0.1")
    dash.set_defaults(func=_cmd_dashboards)

    for name, register in _GROUPS:
        if only is None or name == only:
            register(sub)
    _add_home_everywhere(sub)
    return parser


def _gs1(sub: _Sub) -> None:
    from serialtrace.gs1.cli import add_gs1_commands

    add_gs1_commands(sub)


def _serials(sub: _Sub) -> None:
    from serialtrace.lifecycle.cli import add_lifecycle_commands, serials_subparsers
    from serialtrace.serials.cli import add_serials_commands

    add_serials_commands(sub)
    # after the `serials` command registered above: joins it
    add_lifecycle_commands(serials_subparsers(sub))


def _line(sub: _Sub) -> None:
    from line_bridge.cli import add_line_commands

    add_line_commands(sub)


def _erp(sub: _Sub) -> None:
    from ingest.erp.cli import add_erp_commands

    add_erp_commands(sub)


def _users(sub: _Sub) -> None:
    from serialtrace.users.cli import add_users_commands

    add_users_commands(sub)


def _alerts(sub: _Sub) -> None:
    from alerts.cli import add_alerts_commands

    add_alerts_commands(sub)


def _partners(sub: _Sub) -> None:
    from partners.cli import add_partners_commands

    add_partners_commands(sub)


def _verify(sub: _Sub) -> None:
    from verification.cli import add_verify_commands

    add_verify_commands(sub)


def _clients(sub: _Sub) -> None:
    from serialtrace.clients import add_clients_commands

    add_clients_commands(sub)


def _epcis(sub: _Sub) -> None:
    from epcis.cli import add_epcis_commands

    add_epcis_commands(sub)


#: Command groups registered by the packages, by their command word, in help order.
_GROUPS: list[tuple[str, Callable[[_Sub], None]]] = [
    ("gs1", _gs1),
    ("serials", _serials),
    ("line", _line),
    ("erp", _erp),
    ("users", _users),
    ("alerts", _alerts),
    ("partners", _partners),
    ("verify", _verify),
    ("epcis", _epcis),
    ("clients", _clients),
]


def _command_word(argv: list[str]) -> str | None:
    """The command group named on the command line, if it is one of ``_GROUPS``."""
    names = {name for name, _ in _GROUPS}
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--home", "--user", "--client"):
            skip = True
        elif not word.startswith("-"):
            return word if word in names else None
    return None


def _add_acting_options(parser: argparse.ArgumentParser) -> None:
    """``--user`` and ``--client`` (the data space), unless the command has its own option of
    that name (``users add --client``: the user's clients; then give it before the command)."""
    taken = {o for a in parser._actions for o in a.option_strings}
    if "--user" not in taken:
        parser.add_argument(
            "--user", default=argparse.SUPPRESS, help="acting user (default: $SERIALTRACE_USER)"
        )
    if "--client" not in taken:
        parser.add_argument(
            "--client",
            dest="data_client",
            default=argparse.SUPPRESS,
            help=f"client (data space) to work on (default: ${CLIENT_ENV} or the root's)",
        )


def _add_home_everywhere(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], path: str = ""
) -> None:
    """Every (nested) subcommand registered by other modules accepts ``--home``, ``--user``
    and ``--client`` too, and knows its command path (what serialtrace/acting.py checks)."""
    for name, choice in sub.choices.items():
        command = f"{path} {name}".strip()
        choice.set_defaults(_command=command)
        if not any("--home" in a.option_strings for a in choice._actions):
            choice.add_argument("--home", default=argparse.SUPPRESS, help="home folder")
        _add_acting_options(choice)
        for action in choice._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_home_everywhere(action, command)


def _cmd_demo(args: argparse.Namespace) -> int:
    from serialtrace.demo import run_demo

    home = resolve_home(getattr(args, "home", None))
    result = run_demo(home, args.units, seed=args.seed)
    causes = ", ".join(f"{k} {v:,}" for k, v in sorted(result.reject_causes.items())) or "none"
    env = f"{HOME_ENV}={home.root}"
    print(
        "\n".join(
            [
                f"Batch {result.work_order_id}: {result.units:,} units",
                f"  printed    {result.printed:>10,}",
                f"  passed     {result.passed:>10,}",
                f"  rejected   {result.rejected:>10,}   ({causes})",
                f"  cases      {result.cases:>10,}",
                f"  pallets    {result.pallets:>10,}",
                f"  EPCIS 1.2  {result.epcis_path}  (XSD-valid, {result.epcis_commissioned:,} "
                "units commissioned)",
                f"  raw files  {len(result.files)} under {home.raw}",
                f"  warehouse  {home.warehouse}",
                f"  elapsed    {result.elapsed_seconds:.1f} s (line {result.line_seconds:.1f} s)",
                "",
                *_demo_clients_lines(result),
                "Open the dashboards:  ./run serialtrace dashboards --home " + str(home.root),
                f"Open the Dagster UI:  {env} DAGSTER_HOME={home.dagster_home} "
                ".venv/bin/dagster dev -m orchestration.definitions",
            ]
        )
    )
    return 0


def _demo_clients_lines(result: DemoResult) -> list[str]:
    """The CMO part of the demo summary: the isolation check and the demo users (their
    generated passwords are shown this once; also in the 0600 file)."""
    second = result.second_client
    if second is None:
        return []
    lines = ["", "CMO data spaces (serials per owning company in each client's warehouse):"]
    for owner, seen in second.counts.items():
        lines.append(f"  {owner:<10} " + ", ".join(f"{c} {n:,}" for c, n in sorted(seen.items())))
    lines += ["", f"Demo users (demo only; also in {second.users_file}, mode 0600):"]
    lines += [f"  {name:<14} {password}" for name, password in result.demo_users.items()]
    return [*lines, ""]


def _cmd_materialize(args: argparse.Namespace) -> int:
    import contextlib

    from orchestration.definitions import build_definitions
    from orchestration.run import materialize

    home = resolve_home(getattr(args, "home", None)).ensure()
    log = home.logs / "materialize.log"

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    say(f"loading the asset graph of {home.root} (dbt log: {log})")
    with log.open("a") as handle, contextlib.redirect_stdout(handle):
        report = materialize(home, build_definitions(home), select=args.select, say=say)
    print(f"materialized {len(report.assets)} assets in {report.seconds.get('warehouse', 0):.1f} s")
    for path in report.epcis_documents:
        print(f"  EPCIS  {path}")
    return 0


def _cmd_dashboards(args: argparse.Namespace) -> int:
    home = resolve_home(getattr(args, "home", None))
    if not home.warehouse.exists():
        raise SerialtraceError(f"no warehouse at {home.warehouse}: run `serialtrace demo` first")
    env = dict(os.environ, **{HOME_ENV: str(home.installation.root)})
    command = [
        sys.executable,
        "-m",
        "dashboards.serve",  # `streamlit run`, after importing what the pages need
        "run",
        str(PROJECT_ROOT / "dashboards" / "app.py"),
        "--server.headless",
        "true",
        "--server.address",
        args.address,
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
    ]
    print(f"Serving the dashboards on http://{args.address}:{args.port} (Ctrl-C stops)")
    from dashboards.login_hint import login_hint

    print(login_hint(home))
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_word(words))
    args = parser.parse_args(argv)
    try:
        from serialtrace.acting import acting, authorize

        actor = authorize(
            args._command,
            home=getattr(args, "home", None),
            client=getattr(args, "data_client", None),
            user=getattr(args, "user", None),
        )
        with acting(actor, vars(args)):
            code: int = args.func(args)
    except SerialtraceError as exc:
        print(f"serialtrace: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("serialtrace: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
