"""``python -m tests.lab.bmc start|stop|status|serve`` — the lab BMCs by hand."""

from __future__ import annotations

import argparse
import json
import sys

from . import control


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.lab.bmc")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="(re)start the lab BMCs in the background")
    st.add_argument("--nodes", type=int, default=16)
    st.add_argument("--update-seconds", type=float, default=1.5)
    st.add_argument("--profiles", default="", help="vendor shape per node: gpu001=hgx,gpu002=idrac,gpu003=ilo")
    sub.add_parser("stop", help="stop the lab BMCs and remove their files")
    sub.add_parser("status", help="print where the lab BMCs are and their state")
    sv = sub.add_parser("serve", help="run the lab BMC server in the foreground (start uses this)")
    sv.add_argument("--dir", required=True)
    sv.add_argument("--base-port", type=int, required=True)
    sv.add_argument("--names", required=True)
    sv.add_argument("--user", default="admin")
    sv.add_argument("--update-seconds", type=float, default=1.5)
    sv.add_argument("--power-delay", type=int, default=1)
    sv.add_argument(
        "--profiles", default="", help="vendor shape per node: gpu001=hgx,gpu002=idrac,... (default generic)"
    )
    sv.add_argument("--reinstall-hook", default=None, help="JSON argv run on a PXE boot ({node}, {image_id}, {delay})")
    args = ap.parse_args(argv)
    if args.cmd == "serve":
        from .server import serve

        serve(args)
        return 0
    if args.cmd == "start":
        profiles = dict(kv.split("=", 1) for kv in args.profiles.split(",") if kv)
        lab = control.start(args.nodes, update_seconds=args.update_seconds, profiles=profiles)
        print(
            f"lab BMCs up: {len(lab.bmcs)} at {min(lab.bmcs.values())}..; control {lab.info['control']}; "
            f"CA {lab.ca}; user {lab.user}, password in {lab.password_file}"
        )
        return 0
    if args.cmd == "stop":
        print("stopped" if control.stop() else "not running (cleaned up)")
        return 0
    try:
        lab = control.LabBmcs.load()
        print(json.dumps(lab.status(), indent=1))
    except OSError as exc:
        print(f"not running ({exc.__class__.__name__})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
