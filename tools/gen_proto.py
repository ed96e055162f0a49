"""Regenerate the Python modules and type stubs for the vantage.v1 wire format.

    python tools/gen_proto.py          # rewrite vantage/v1/*_pb2*.py[i]
    python tools/gen_proto.py --check  # exit 1 when the committed code is stale

The `.proto` files under proto/ are the single source of truth; the generated
code is committed so that `pip install .` needs no protoc. CI runs --check.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE_DIR = Path("vantage") / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir: Path) -> list[Path]:
    """Run protoc over every .proto and return the files it wrote."""
    protos = sorted((PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_ROOT / PACKAGE_DIR}")
    well_known = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(PROTO_ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted((out_dir / PACKAGE_DIR).iterdir())


def generated_files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    args = parser.parse_args()
    target = ROOT / PACKAGE_DIR
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(out)
        fresh = out / PACKAGE_DIR
        fresh_names = generated_files(fresh)
        if args.check:
            committed = generated_files(target)
            stale = sorted(
                name
                for name in fresh_names | committed
                if name not in fresh_names
                or name not in committed
                or not filecmp.cmp(fresh / name, target / name, shallow=False)
            )
            if stale:
                print("generated protobuf code is stale: " + ", ".join(stale), file=sys.stderr)
                print("run: python tools/gen_proto.py", file=sys.stderr)
                return 1
            print(f"generated protobuf code is up to date ({len(fresh_names)} files)")
            return 0
        for name in generated_files(target) - fresh_names:
            (target / name).unlink()
        for name in sorted(fresh_names):
            shutil.copyfile(fresh / name, target / name)
        print(f"wrote {len(fresh_names)} files to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
