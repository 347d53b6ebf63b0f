"""``python -m genarch.data``: list datasets / experiments, fetch public data, verify a data tree.

    python -m genarch.data list                    # dataset config options and fetchable sources
    python -m genarch.data list deepbind_encode    # DeepBind experiments (train+test / test only)
    python -m genarch.data list gue                # GUE tasks
    python -m genarch.data fetch deepbind_encode [--dest DIR] [--base-url URL]
    python -m genarch.data verify [--root DIR] [--source NAME]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from genarch.data.errors import DataError


def _data_root(arg):
    from genarch.data.paths import resolve_path
    from genarch.data.sources import DEFAULT_DATA_ROOT

    return resolve_path(arg or os.environ.get("GENARCH_DATA") or DEFAULT_DATA_ROOT)


def cmd_list(args) -> int:
    from genarch.data.registry import sources
    from genarch.data.sources import deepbind_experiments, gue_tasks

    root = _data_root(args.data_root)
    if args.what is None:
        conf = Path(__file__).resolve().parents[1] / "conf" / "dataset"
        print("dataset options (dataset=<name>):")
        for p in sorted(conf.glob("*.yaml")):
            print(f"  {p.stem}")
        print("fetchable sources (python -m genarch.data fetch <source>):")
        for s in sources():
            print(f"  {s}")
        return 0
    if args.what == "deepbind_encode":
        exps = deepbind_experiments(root / "tfbs" / "deepbind_encode")
        if not exps:
            raise DataError("no DeepBind experiments found; run `python -m genarch.data fetch deepbind_encode`",
                            root / "tfbs" / "deepbind_encode")
        for name, files in exps.items():
            kind = ("train+test" if files["train"] and files["test"]
                    else ("test only" if files["test"] else "train only"))
            print(f"{name}\t{kind}")
        return 0
    if args.what == "gue":
        tasks = gue_tasks(root / "tfbs" / "gue")
        if not tasks:
            raise DataError("no GUE tasks found", root / "tfbs" / "gue")
        print("\n".join(tasks))
        return 0
    raise DataError(f"cannot list {args.what!r}; choose deepbind_encode or gue", key="what")


def cmd_fetch(args) -> int:
    from genarch.data.cache import cache_dir
    from genarch.data.fetch import fetch_source

    dest = Path(args.dest).expanduser() if args.dest else cache_dir() / "data"
    results = fetch_source(args.source, dest, base_url=args.base_url, retries=args.retries, timeout=args.timeout)
    print(f"{len(results)} files verified in {dest}; use dataset.data_root={dest} (or GENARCH_DATA={dest})")
    return 0


def cmd_verify(args) -> int:
    from genarch.data.fetch import verify_tree

    root = _data_root(args.root)
    bad = verify_tree(root, args.source)
    for rel in bad:
        print(f"MISMATCH or missing: {rel}")
    print("all registered files verified" if not bad else f"{len(bad)} file(s) differ from the registry")
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genarch.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list dataset options, or the experiments of deepbind_encode / gue")
    p.add_argument("what", nargs="?", choices=["deepbind_encode", "gue"])
    p.add_argument("--data-root", default=None)
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("fetch", help="download a public source, verify sha256, resume interrupted downloads")
    p.add_argument("source")
    p.add_argument("--dest", default=None,
                   help="destination root (default: $GENARCH_CACHE/data or ~/.cache/genarch/data)")
    p.add_argument("--base-url", default=None, help="mirror base URL (same layout as ../shared/data)")
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--timeout", type=float, default=30.0)
    p.set_defaults(func=cmd_fetch)
    p = sub.add_parser("verify", help="check a data tree against the registry's sha256")
    p.add_argument("--root", default=None)
    p.add_argument("--source", default=None)
    p.set_defaults(func=cmd_verify)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
