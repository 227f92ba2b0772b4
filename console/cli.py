# PYTHON_ARGCOMPLETE_OK  (lets argcomplete's global activation complete dcops)
"""The ``dcops`` command: run actions, review the audit log, check policy, approve, and start the
TUI or the Slack bot. It only talks to the action layer; every error is one line on stderr and an
exit code a script can act on (0 ok, 1 action failed, 2 bad input, 3 waiting for approval, 4 denied,
5 lock busy, 6 backend unreachable, 70 internal error, 130 interrupted: ``dcops.actions.errors``), never a
traceback (those go to the log file)."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DcopsError, DeniedError, UsageError
from dcops.actions.safe_text import printable

# Imported where used, not here (issue 16: `dcops --help` < 150 ms, a command imports only what it
# uses): asyncio, the engine, the config models, the registry with every action and the renderers
# (which import pydantic's event models) load only on the paths that need them.
if TYPE_CHECKING:
    from dcops.actions import Request
    from dcops.actions.config import DcopsConfig
    from dcops.actions.events import Result, RunFinished

    from .render import EventPrinter

log = logging.getLogger("dcops.cli")


class _Parser(argparse.ArgumentParser):
    """argparse prints a multi-line usage block and exits on errors; we want one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


class _Version(argparse.Action):
    """``--version``: the version is read from the installed metadata only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from dcops.actions.version import __version__

        sys.stdout.write(f"dcops {__version__}\n")  # stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dcops", description="Operator console for GPU clusters.")
    p.add_argument("--version", action=_Version, help="show the version and exit")
    p.add_argument("--config", help="config file (default $DCOPS_CONFIG or ~/.config/dcops/config.toml)")
    p.add_argument("--demo", action="store_true", help="use the built-in simulated cluster")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--as", dest="as_principal", help="act as PRINCIPAL (demo mode only)")
    p.add_argument("-v", "--debug", action="store_true", help="debug logging on stderr (and in the log file)")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run an action: dcops run drain gpu[001-004] --reason 'xid 79'")
    r.add_argument("--yes", action="store_true", help="skip the confirmation where the policy allows it")
    r.add_argument("--confirm", help="the confirmation token (node count or hostlist) for non-interactive use")
    r.add_argument("--approval", help="run a request a second person approved (approval id)")
    r.add_argument("words", nargs=argparse.REMAINDER, help="ACTION and its arguments").completer = _complete_run_words  # type: ignore[attr-defined]

    sub.add_parser("actions", help="list the actions")
    h = sub.add_parser("help", help="help for one action")
    h.add_argument("action", nargs="?").completer = _complete_action  # type: ignore[attr-defined]

    a = sub.add_parser("audit", help="review the audit log")
    asub = a.add_subparsers(dest="audit_cmd", required=True, parser_class=_Parser)
    al = asub.add_parser("list", help="search records")
    for opt in ("since", "until", "principal", "action", "node", "outcome", "run", "event", "limit", "before"):
        al.add_argument(f"--{opt}")
    al.add_argument("--csv", action="store_true")
    ash = asub.add_parser("show", help="every record of one run")
    ash.add_argument("run_id")
    av = asub.add_parser("verify", help="verify the hash chain (exit 1 when broken)")
    av.add_argument("--expect-head", help="checkpoint SEQ:HASH from `dcops audit head`")
    av.add_argument(
        "--full",
        action="store_true",
        help="re-read the whole chain and every seal (default: only what follows the newest good seal)",
    )
    av.add_argument(
        "--seals",
        action="append",
        default=[],
        metavar="FILE",
        help="shipped seals to check against (syslog file, `journalctl -t dcops-seal -o cat` output)",
    )
    ak = asub.add_parser("keygen", help="make an Ed25519 seal key pair: PREFIX.key (0400) and PREFIX.pub")
    ak.add_argument("prefix", help="path prefix, e.g. /etc/dcops/seal-2026")
    asub.add_parser("head", help="print the chain head SEQ:HASH to store elsewhere")
    ae = asub.add_parser("export", help="every record as JSON Lines")
    ae.add_argument("--output", "-o", help="file (default stdout)")
    am = asub.add_parser("migrate", help="copy the audit log to another store URL")
    am.add_argument("to_url")

    pol = sub.add_parser("policy", help="RBAC policy tools")
    psub = pol.add_subparsers(dest="policy_cmd", required=True, parser_class=_Parser)
    pc = psub.add_parser("check", help="explain the decision (exit 0 allow, 1 deny)")
    pc.add_argument("principal")
    pc.add_argument("action")
    pc.add_argument("targets", nargs="?", default="")

    sub.add_parser("approvals", help="pending approval requests")
    ap = sub.add_parser("approve", help="approve a pending request (runs it)")
    ap.add_argument("approval_id")
    dn = sub.add_parser("deny", help="deny a pending request")
    dn.add_argument("approval_id")
    dn.add_argument("--reason", default="")
    wd = sub.add_parser("withdraw", help="take back your own pending request")
    wd.add_argument("approval_id")
    wd.add_argument("--reason", default="")
    rs = sub.add_parser("resume", help="finish what an interrupted resumable run left undone")
    rs.add_argument("run_id")

    t = sub.add_parser("tui", help="the terminal console")
    t.add_argument("--theme", help="dcops-dark, dcops-light, dcops-contrast")
    t.add_argument("--nodes", type=int, help="demo cluster size")
    sl = sub.add_parser("slack", help="serve the Slack bot (Socket Mode when $SLACK_APP_TOKEN is set, else HTTP)")
    sl.add_argument("--port", type=int, help="HTTP port (default [slack] port, 3000); 0 picks a free one")
    sl.add_argument("--host", help="address to listen on (default [slack] host, 127.0.0.1)")
    sl.add_argument("--api-base-url", help="Slack Web API base URL, e.g. a local recorder http://127.0.0.1:PORT/api/")
    alr = sub.add_parser(
        "alerts", help="alerts received from Alertmanager; `alerts serve` receives them; `alerts silences`"
    )
    alr.add_argument("what", nargs="?", choices=["list", "serve", "silences"], default="list")
    alr.add_argument("--all", action="store_true", help="resolved alerts (expired silences) too")
    alr.add_argument("--node", help="only alerts about this node")
    comp = sub.add_parser("completion", help="print the shell completion script: bash, zsh or fish")
    comp.add_argument("shell", choices=["bash", "zsh", "fish"])
    _json_anywhere(p)
    return p


def _complete_action(prefix: str, **_: Any) -> list[str]:
    """Action names from the registry (``dcops help dr<TAB>``)."""
    from dcops.actions import complete, load_actions

    load_actions()
    return complete(prefix, [])


def _complete_run_words(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """``dcops run <TAB>``: the same grammar completion as the TUI's ``:`` line and Slack (action
    names, then the action's options). No config is read and no backend asked, so TAB stays fast
    and works without a cluster; node names are left to the shell."""
    from dcops.actions import complete, load_actions

    load_actions()
    words = [w for w in (getattr(parsed_args, "words", None) or []) if w]
    return complete(" ".join([*words, prefix]), [])


def completion_script(shell: str) -> str:
    """The activation script for one shell. Why argcomplete and not shtab: shtab writes no fish
    script, and its static scripts would freeze the action list at generation time; argcomplete
    asks this parser (and the registry) on each TAB, through the same grammar as the TUI."""
    import argcomplete

    return argcomplete.shellcode(["dcops"], shell=shell)


def _json_anywhere(parser: argparse.ArgumentParser) -> None:
    """``--json`` after the command too (``dcops audit list --json``), as the README writes it; the
    default is SUPPRESS so a subcommand never resets ``dcops --json …``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                if not any("--json" in a.option_strings for a in sub._actions):
                    sub.add_argument(
                        "--json",
                        action="store_true",
                        default=argparse.SUPPRESS,
                        help="machine-readable output (lists: one JSON array)",
                    )
                _json_anywhere(sub)


def principal_for(args: argparse.Namespace, config: DcopsConfig) -> str:
    """Who acts: the real uid of this process (mapped through ``[identity]``), never an environment
    variable; ``--as`` only on the built-in demo cluster (``--demo``), where nothing real is touched."""
    from dcops.actions import local_principal

    if args.as_principal:
        if not args.demo:
            raise UsageError(
                f"--as is only accepted in demo mode (--demo); the CLI acts as the unix account "
                f"running it ({local_principal(config.identity)}), not as {args.as_principal}"
            )
        if not re.fullmatch(r"(unix|slack):[^\s:]+", args.as_principal):
            raise UsageError(f"--as {args.as_principal!r}: give a principal such as unix:alice or slack:U0123ABC")
        return args.as_principal
    return local_principal(config.identity)


async def _principal_or_audited_refusal(args: argparse.Namespace, config: DcopsConfig) -> str:
    """:func:`principal_for`, and when it refuses (``--as`` outside demo mode, an unmapped account
    the config refuses), an audit record of the attempt under the real account before the error."""
    from dcops.actions import open_engine
    from dcops.actions.identity import login_name

    try:
        return principal_for(args, config)
    except (UsageError, DeniedError) as exc:
        real = f"unix:{login_name()}"
        words = getattr(args, "words", None) or []
        action = words[0] if words else str(args.cmd)
        try:
            engine = await open_engine(config)
        except DcopsError:
            raise exc from None  # no audit log to write to: the refusal stands on its own
        try:
            await engine.reject(
                real, "cli", action, str(exc), params={"as": args.as_principal, "argv": words}, denied=True
            )
        finally:
            await engine.aclose()
        raise


def load(args: argparse.Namespace) -> DcopsConfig:
    from dcops.actions.config import demo_config, load_config

    if args.demo:
        cfg = demo_config()
        if getattr(args, "nodes", None) is not None:
            from dcops.actions.config import parse_config

            cfg = parse_config({"cluster": {**cfg.cluster.model_dump(), "demo_nodes": args.nodes}}, source="--nodes")
        return cfg
    return load_config(args.config)


def run_options(
    words: list[str], *, yes: bool = False, confirm: str | None = None, approval: str | None = None
) -> tuple[list[str], bool, str | None, str | None]:
    """Take ``--yes``, ``--confirm X`` and ``--approval ID`` from anywhere among the action's words
    (``dcops run drain gpu001 --reason x --yes``), as the README writes them; the rest is the action's."""
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        key, eq, inline = word.partition("=")
        if word == "--yes":
            yes = True
        elif key in ("--confirm", "--approval"):
            if eq:
                value = inline
            elif i + 1 < len(words):
                i += 1
                value = words[i]
            else:
                raise UsageError(
                    f"dcops run: {key} needs a value ({'the node count or hostlist' if key == '--confirm' else 'an approval id'})"
                )
            if key == "--confirm":
                confirm = value
            else:
                approval = value
        else:
            rest.append(word)
        i += 1
    if not rest:
        raise UsageError("dcops run: give an action, e.g. dcops run drain gpu001 --reason 'xid 79' (see dcops actions)")
    return rest, yes, confirm, approval


async def _run_request(engine: Any, req: Request, printer: EventPrinter, *, interactive: bool) -> int:
    import asyncio

    from .render import dump_json

    try:
        run = await engine.submit(req)
    except ConfirmationRequired as exc:
        if not interactive:
            raise UsageError(f"{exc} (non-interactive: pass --confirm {exc.token})") from None
        sys.stderr.write(f"{exc}\n> ")
        sys.stderr.flush()
        typed = await asyncio.to_thread(sys.stdin.readline)
        if not typed.strip():
            sys.stderr.write("not confirmed; nothing done\n")
            return 1
        return await _run_request(
            engine, req.model_copy(update={"confirm": typed.strip()}), printer, interactive=interactive
        )
    except ApprovalRequired as exc:
        sys.stderr.write(f"{exc}\n")
        if printer.as_json:
            dump_json({"approval_id": exc.approval_id, "status": "pending"})
        return 3
    return await _follow(run, req.principal, printer)


TICK = 5.0  # seconds between "still running" lines on a terminal (drain --wait can take minutes)


async def _ticker(run: Any, err: Any) -> None:
    """On a terminal, say every few seconds that a long run is alive and what it waits for, so
    `drain --wait` is never silent for 48 s; in a pipe, stay quiet (scripts read the events)."""
    import asyncio

    while run.active:
        await asyncio.sleep(TICK)
        if not run.active:
            return
        waiting = [f"{t}: {s.detail}" for t, s in run.steps.items() if s.status == "running" and s.detail][:3]
        label = f" {run.progress.done}/{run.progress.total} {run.progress.label}" if run.progress else ""
        err.write(
            f"... {run.action} still running ({time.time() - run.started:.0f}s){label}"
            + (f"; {'; '.join(waiting)}" if waiting else "")
            + "\n"
        )
        err.flush()


async def _follow(run: Any, principal: str, printer: EventPrinter) -> int:
    """Print a run's events to its end; Ctrl-C stops it (see :func:`_interrupted`)."""
    import asyncio

    printed = 0
    tick = asyncio.create_task(_ticker(run, printer.err)) if not printer.as_json and printer.err.isatty() else None
    try:
        async for event in run.events():
            printer(event)
            printed += 1
    except asyncio.CancelledError:  # Ctrl-C: stop the run, show where it left every target
        return await _interrupted(run, principal, printer, printed)
    finally:
        if tick is not None:
            tick.cancel()
    return exit_code(run.finished)


def exit_code(finished: RunFinished | None) -> int:
    """The process exit code for a finished run (README "Exit codes"): 0 ok or dry run; the code of
    the error that ended it (5 lock busy, 6 backend unreachable, 2 bad input found late); 130 when
    cancelled; else 1, the action failed."""
    if finished is None:
        return 1
    if finished.outcome in ("ok", "dry-run"):
        return 0
    if finished.outcome in ("cancelled", "interrupted"):
        return 130
    return finished.exit_code or 1


INTERRUPTED = 130  # Ctrl-C, wherever it lands: one message shape, one exit code (128 + SIGINT)


async def _interrupted(run: Any, principal: str, printer: EventPrinter, printed: int) -> int:
    """Ctrl-C during a run: stop it (its nodes settle: done / failed / left drained / not started),
    print what the stop left, name the one command that returns drained nodes, exit 130."""
    run.cancel(by=principal)
    finished: RunFinished = await run.wait()
    for event in run.history[printed:]:
        printer(event)
    line = f"dcops: interrupted: run {run.run_id} {finished.outcome}"
    if finished.left_out_of_service:
        from dcops.actions.hostlists import collapse

        nodes = collapse(finished.left_out_of_service)
        line += f"; left out of service: {nodes}; return them with: dcops run resume {nodes}"
    sys.stderr.write(line + "\n")
    return INTERRUPTED


def _keygen(prefix: str) -> int:
    from dcops.actions.seal.keys import generate

    private, public = Path(prefix + ".key"), Path(prefix + ".pub")
    kid = generate(private, public)
    print(
        f"key id {kid}: private key {private} (mode 0400: chown it to the dcops service account), public key {public}"
    )
    print(f'config: [audit] seal_key = "{private}"   seal_public_keys = ["{public}"]')
    return 0


async def amain(args: argparse.Namespace) -> int:
    from dcops.actions import open_engine

    if args.cmd == "audit" and args.audit_cmd == "keygen":
        return _keygen(args.prefix)
    if args.cmd == "completion":
        sys.stdout.write(completion_script(args.shell))
        return 0
    if args.cmd in ("actions", "help"):
        return _catalogue_command(args)
    config = load(args)
    if args.as_principal and args.cmd in ("slack", "tui", "alerts"):
        await _principal_or_audited_refusal(args, config)  # --as is refused outside demo for every command
    if args.cmd == "tui":
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            from dcops.actions.errors import DcopsError as _EnvError

            raise _EnvError(
                "dcops tui needs a terminal (stdin and stdout are not one); "
                "run it in a terminal, or use the CLI commands (dcops run ..., dcops audit ...)"
            )
        from dcops.console.tui.app import run_tui_async

        _startup_done()
        return await run_tui_async(
            config, principal=await _principal_or_audited_refusal(args, config), theme=args.theme
        )
    if args.cmd in ("slack", "alerts") and (args.cmd == "slack" or args.what == "serve"):
        log_to_stderr(logging.DEBUG if args.debug else logging.INFO)  # long-running: journald reads stderr
    if args.cmd == "slack":
        from dcops.actions.config.model import SlackSection
        from dcops.bots.app import serve_async

        overrides = {
            k: v
            for k, v in (("port", args.port), ("host", args.host), ("api_base_url", args.api_base_url))
            if v is not None
        }
        if overrides:  # local testing: `dcops --demo slack --port 3100 --api-base-url ...`
            section = (config.slack or SlackSection()).model_copy(update=overrides)
            config = config.model_copy(update={"slack": section})
        _startup_done()
        return await serve_async(config, demo=config.cluster.demo)
    if args.cmd == "alerts" and args.what == "serve":
        from dcops.bots.alert_webhook import serve_async as serve_alerts

        _startup_done()
        return await serve_alerts(config)
    principal = await _principal_or_audited_refusal(args, config)
    review = args.cmd == "audit" and args.audit_cmd in _REVIEW
    store = _review_store(config, args) if review else None
    # one command, then exit: the inventory is read when a request names nodes, not at start
    engine = await open_engine(config, store=store, review=review, warm_inventory=False)
    _startup_done()
    if store is not None:
        sys.stderr.write(f"note: {store.path} is read-only: reviewed as it is, this review is not recorded in it\n")
    try:
        return await _dispatch(engine, args, principal)
    finally:
        await engine.aclose()


_REVIEW = frozenset({"list", "show", "verify", "head", "export"})


def _review_store(config: DcopsConfig, args: argparse.Namespace) -> Any:
    """For reviewing a SQLite log: a read-only store when the file or its directory is read-only (a
    copy handed to an auditor); None to open it as usual. A log that does not exist is not created
    for a review when a seal or ``--expect-head`` says it held records."""
    from dcops.actions.errors import AuditError
    from dcops.actions.store.sqlite_ro import ReadOnlySqliteStore, meant_read_only

    url = config.audit.effective_url()
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists() or path.stat().st_size == 0:
        import re

        head = re.fullmatch(r"(\d{1,18}):[0-9a-f]{64}", getattr(args, "expect_head", None) or "")
        expected = head is not None and int(head.group(1)) > 0
        if config.audit.sealing or config.audit.seal_public_keys or expected:
            raise AuditError(
                f"audit database {path} {'does not exist' if not path.exists() else 'is empty'}: "
                "the log is lost (seals or --expect-head say it held records); restore it from backup"
            )
        return None
    return ReadOnlySqliteStore(str(path)) if meant_read_only(path) else None


def _catalogue_command(args: argparse.Namespace) -> int:
    """``dcops actions`` and ``dcops help [ACTION]``: no engine, no audit database, no config needed."""
    from dcops.actions import command_help, load_actions

    from .render import dump_json

    if args.cmd == "help" and not args.action:
        print(build_parser().format_help())
        return 0
    specs = load_actions()
    allowed, why = _may_run(args, list(specs))
    if args.cmd == "actions" and args.json:
        dump_json([{"name": s.name, "kind": s.kind.value, "help": s.help} for s in allowed])
        if why:
            sys.stderr.write(f"note: {why}\n")
        return 0
    if args.cmd == "help" and args.json:
        from dcops.actions.result_rows import rows_schema

        spec = specs.get(args.action)
        dump_json(
            {
                "name": spec.name,
                "kind": spec.kind.value,
                "help": spec.help,
                "usage": command_help(spec),
                "params": spec.params.model_json_schema(),
                "rows": rows_schema(spec.rows),
                "allowed": why is not None or spec in allowed,
            }
        )
        return 0
    if args.cmd == "actions":
        for spec in allowed:
            print(f"{spec.name:<18} {spec.kind.value:<12} {printable(spec.help)}")
        if why:
            sys.stderr.write(f"note: {why}\n")
        return 0
    spec = specs.get(args.action)
    print(command_help(spec))
    if why is None and spec not in allowed:
        print(f"(the policy does not let you run {spec.name})")
    return 0


def _may_run(args: argparse.Namespace, specs: list[Any]) -> tuple[list[Any], str | None]:
    """The actions the caller may run under the policy their config names (without a config file:
    the default policy file; without either, every action, and a note saying why)."""
    from dcops.actions.config import DcopsConfig, default_config_path
    from dcops.actions.errors import ConfigError
    from dcops.actions.rbac import Policy

    config: DcopsConfig | None
    try:
        config = load(args)
    except ConfigError:
        if args.demo or args.config or os.environ.get("DCOPS_CONFIG"):
            raise  # a config the caller named must load
        config = None
    if config is not None and config.cluster.demo and not config.policy.path:
        policy = Policy.demo()
    else:
        path = (
            Path(config.policy.path)
            if config and config.policy.path
            else default_config_path().with_name("policy.toml")
        )
        if config is None and not path.exists():
            return specs, (
                f"no config file and no policy file ({path}): every action is listed; "
                "the policy decides what you may run"
            )
        policy = Policy.load(path)
    principal = principal_for(args, config or DcopsConfig())
    read_only = bool(config and config.cluster.read_only)
    return [s for s in specs if policy.decide(principal, s.name, s.kind.value, [], read_only=read_only).allowed], None


async def _dispatch(engine: Any, args: argparse.Namespace, principal: str) -> int:
    from dcops.actions import Request, command_help, load_actions, parse_command

    from .render import EventPrinter, dump_json

    printer = EventPrinter(as_json=args.json, as_csv=getattr(args, "csv", False))
    interactive = sys.stdin.isatty() and not args.json
    if args.cmd == "run":
        if not args.words:
            raise UsageError(
                "dcops run: give an action, e.g. dcops run drain gpu001 --reason 'xid 79' (see dcops actions)"
            )
        if any(w in ("--help", "-h") for w in args.words[1:]) and args.words[0] in load_actions():
            print(command_help(load_actions().get(args.words[0])))  # `dcops run drain --help`
            return 0
        try:
            words, yes, confirm, approval = run_options(
                args.words, yes=args.yes, confirm=args.confirm, approval=args.approval
            )
            cmd = parse_command(words)
        except UsageError as exc:
            await engine.reject(principal, "cli", args.words[0], str(exc), params={"argv": args.words})
            raise
        req = Request(
            principal=principal,
            channel="cli",
            action=cmd.action,
            params=cmd.params,
            confirm=confirm,
            yes=yes,
            approval_id=approval,
            interactive=interactive,
        )
        return await _run_request(engine, req, printer, interactive=interactive)
    if args.cmd == "audit":
        return await _audit(engine, args, principal, printer)
    if args.cmd == "alerts":
        params: dict[str, Any] = {"all": True} if args.all else {}
        if args.node and args.what == "list":
            params["node"] = args.node
        if args.json:
            return _dump_list(await _audit_result(engine, principal, args.what.replace("list", "alerts"), params))
        return await _run_request(
            engine,
            Request(principal=principal, channel="cli", action=args.what.replace("list", "alerts"), params=params),
            printer,
            interactive=False,
        )
    if args.cmd == "policy":
        return await _policy_check(engine, args)
    if args.cmd == "approvals":
        if args.json:
            return _dump_list(await _audit_result(engine, principal, "approvals", {}))
        return await _run_request(
            engine, Request(principal=principal, channel="cli", action="approvals"), printer, interactive=False
        )
    if args.cmd == "approve":
        run = await engine.approve(args.approval_id, principal, "cli")
        return await _follow(run, principal, printer)
    if args.cmd == "deny":
        appr = await engine.deny(args.approval_id, principal, "cli", args.reason)
        if args.json:
            dump_json(
                {
                    "approval_id": appr.id,
                    "status": "denied",
                    "action": appr.action,
                    "requester": appr.requester,
                    "reason": args.reason,
                }
            )
        else:
            print(printable(f"denied {appr.id} ({appr.action} asked by {appr.requester})"))
        return 0
    if args.cmd == "withdraw":
        appr = await engine.withdraw(args.approval_id, principal, "cli", args.reason)
        print(f"withdrew {appr.id} ({appr.action})")
        return 0
    if args.cmd == "resume":
        run = await engine.resume_run(args.run_id, principal, "cli")
        return await _follow(run, principal, printer)
    raise UsageError(f"unknown command {args.cmd}")


async def _audit(engine: Any, args: argparse.Namespace, principal: str, printer: EventPrinter) -> int:
    from dcops.actions import Request

    from .render import dump_json, output_width, table_text

    if args.audit_cmd == "list":
        params = {
            k: getattr(args, k)
            for k in ("since", "until", "principal", "action", "node", "outcome", "run", "event", "limit", "before")
            if getattr(args, k)
        }
        req = Request(principal=principal, channel="cli", action="audit", params=params)
        run = await engine.submit(req)
        await run.wait()
        res: Result | None = run.result
        if res is None:
            raise DcopsError("audit search failed: " + (run.finished.summary if run.finished else "no result"))
        if args.json:
            dump_json(res.data)
        elif args.csv:
            from .render import table_csv

            sys.stdout.write(table_csv(res.table) if res.table is not None else "")
        else:
            print(table_text(res.table, output_width(sys.stdout)) if res.table else "")
            print(printable(res.summary))
        return 0
    if args.audit_cmd == "show":
        req = Request(principal=principal, channel="cli", action="audit", params={"run": args.run_id, "limit": 100000})
        run = await engine.submit(req)
        await run.wait()
        res = run.result
        if res is None or not res.data:
            raise DcopsError(f"no audit records for run {args.run_id!r}")
        records = sorted(res.data, key=lambda r: r["seq"])
        if args.json:
            dump_json(records)
        else:
            for r in records:  # every line escaped: a record's text must not fake another line
                extra = " ".join(
                    f"{k}={r[k]}" for k in ("decision", "outcome", "duration", "error") if r.get(k) is not None
                )
                print(
                    printable(
                        f"#{r['seq']} {r['ts']} {r['event']:<18} {r['principal']} via {r['channel']} {r['action']} "
                        f"{','.join(r['targets'])} {extra}".rstrip()
                    )
                )
                if r.get("detail"):
                    print(f"    {printable(r['detail'])}")
                if r["event"] in ("received", "started") and r.get("params"):
                    print(f"    params: {printable(str(r['params']))}")
        return 0
    if args.audit_cmd == "verify":
        params = {"expect_head": args.expect_head} if args.expect_head else {}
        if args.seals:
            params["seals"] = args.seals
        if args.full:
            params["full"] = True
        run = await engine.submit(Request(principal=principal, channel="cli", action="audit-verify", params=params))
        await run.wait()
        res = run.result
        if res is None:
            raise DcopsError(run.finished.summary if run.finished else "verify failed")
        if args.json:
            dump_json(res.data)
        else:
            print(printable(res.summary))
        return 0 if res.ok else 1
    if args.audit_cmd == "head":
        head = await _audit_result(engine, principal, "audit-head", {})
        if args.json:
            dump_json(head.data)
        else:
            print(head.data["head"])
        return 0
    if args.audit_cmd == "export":
        upto = int((await _audit_result(engine, principal, "audit-export", {})).data["seq"])  # decided, audited
        try:
            out = open(args.output, "w") if args.output else sys.stdout  # noqa: SIM115, ASYNC230 - closed below
        except OSError as exc:
            raise UsageError(
                f"audit export -o {args.output}: {exc.strerror}; give a file in an existing, writable directory"
            ) from None
        try:  # page by page: memory stays flat at any log size
            async for page in engine.store.export_pages():
                out.write("".join(r.model_dump_json() + "\n" for r in page if r.seq <= upto))
                if page and page[-1].seq >= upto:
                    break
        finally:
            if args.output:
                out.close()
        return 0
    if args.audit_cmd == "migrate":
        done = await _audit_result(engine, principal, "audit-migrate", {"to_url": args.to_url})
        if args.json:
            dump_json(done.data)
        else:
            print(printable(done.summary))
        return 0
    raise UsageError(f"unknown audit command {args.audit_cmd}")


def _dump_list(res: Result) -> int:
    """A list command's ``--json``: one JSON array (README "JSON output"), of the result's records,
    else of its typed rows (the schema ``dcops help ACTION --json`` prints), else of its table rows
    as objects keyed by column."""
    from .render import dump_json

    if isinstance(res.data, list):
        dump_json(res.data)
    elif res.rows is not None:
        dump_json([r.model_dump(mode="json") for r in res.rows])
    else:
        table = res.table
        dump_json([dict(zip(table.columns, row)) for row in table.rows] if table else [])
    return 0 if res.ok else 1


async def _audit_result(engine: Any, principal: str, action: str, params: dict[str, Any]) -> Result:
    """Run an audit action through the engine (RBAC decision and an audit record, like ``audit list``)
    and return its result; a failed run raises with the error's exit code."""
    from dcops.actions import Request

    run = await engine.submit(Request(principal=principal, channel="cli", action=action, params=params))
    await run.wait()
    if run.result is None:
        err = DcopsError(run.finished.summary if run.finished else f"{action} failed")
        err.exit_code = exit_code(run.finished)
        raise err
    return run.result


async def _policy_check(engine: Any, args: argparse.Namespace) -> int:
    from .render import dump_json

    decision, lines = await engine.explain(args.principal, args.action, args.targets)
    if args.json:
        dump_json(
            {"allowed": decision.allowed, "reason": decision.reason, "approval": decision.approval, "trace": lines}
        )
    else:
        print(decision.reason)
        for line in lines:
            print(f"  {line}")
    return 0 if decision.allowed else 1


def setup_logging() -> Path:
    """The log file under $XDG_STATE_HOME/dcops; an environment that cannot hold it is one clear
    line and exit 1 (tracebacks of bugs go there, so dcops does not run without it)."""
    from dcops.actions.paths import state_dir

    base = state_dir()
    path = base / "dcops.log"
    if logging.getLogger().handlers:  # already set up (main() called again in one process)
        return path
    try:
        base.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path)
    except OSError as exc:
        from dcops.actions.errors import DcopsError as _EnvError

        raise _EnvError(
            f"cannot write the log file {path}: {exc.strerror} (set XDG_STATE_HOME to a writable directory)"
        ) from None
    logging.basicConfig(
        handlers=[handler], level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )
    return path


def log_to_stderr(level: int) -> None:
    """Log records on stderr too (the file handler stays): for ``-v/--debug``, and for the
    long-running servers (``dcops slack``, ``dcops alerts serve``) whose stderr journald keeps."""
    root = logging.getLogger()
    if any(getattr(h, "_dcops_stderr", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._dcops_stderr = True  # type: ignore[attr-defined]
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    if level < root.level:
        root.setLevel(level)


def _startup_done() -> None:
    """End of start-up: the collector, paused by :func:`main` while the modules, pydantic's
    schemas, the config and the engine are built (~80 young-generation passes over objects that
    all live as long as the process: ~6 % of `dcops --demo run ping`, issue 16), runs again from
    here on, for what the command itself allocates. What start-up built is frozen (moved to the
    permanent generation, as the TUI's fleet screen does after a load) so no later pass walks it
    again. Called before any long-running front end starts and before a command runs; a no-op
    unless :func:`main` paused the collector (a caller that disabled it keeps it disabled)."""
    if _gc_paused:
        _gc_paused.clear()
        gc.freeze()
        gc.enable()


_gc_paused: list[bool] = []  # [True] while main() holds the collector paused


def main(argv: list[str] | None = None) -> int:
    # pydantic looks for plugins (an entry-point scan of every installed distribution, ~10 ms) the
    # first time it builds a model; dcops installs none. An explicit PYDANTIC_DISABLE_PLUGINS (even
    # empty) is the user's choice and wins (issue 16: run ping < 300 ms).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if gc.isenabled():
        gc.disable()  # until _startup_done(): start-up allocates what lives as long as the process
        _gc_paused[:] = [True]
    try:
        return _main(argv)
    finally:
        _startup_done()  # whatever path ended early (an error, --help): never left paused


def _main(argv: list[str] | None) -> int:
    try:
        logfile = setup_logging()
    except DcopsError as exc:
        sys.stderr.write(f"dcops: {printable(str(exc))}\n")
        return exc.exit_code
    try:
        parser = build_parser()
        if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (never imported otherwise)
            import argcomplete

            argcomplete.autocomplete(parser)  # prints them and exits
        args = parser.parse_args(argv)
        if args.debug:
            log_to_stderr(logging.DEBUG)
        import asyncio

        return asyncio.run(amain(args))
    except DcopsError as exc:
        sys.stderr.write(f"dcops: {printable(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("dcops: interrupted\n")
        return INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line for the user, the traceback for the log
        log.exception("internal error")
        sys.stderr.write(printable(f"dcops: internal error: {type(exc).__name__}: {exc} (details in {logfile})") + "\n")
        return 70


if __name__ == "__main__":
    sys.exit(main())
