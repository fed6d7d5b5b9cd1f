"""Run scim2-cli's `scim test` and keep its results as JSON too.

Usage (from scripts/conformance.sh, with the venv's python):

    python run_tester.py JSON_OUT SUMMARY_OUT -- [scim global options...] test [test options...]

The `scim` console script is `scim2_cli:cli`; this calls that same click group with the
same arguments, so what it prints and its exit code are those of `scim ... test`. The one
addition: scim2_tester.check_server, as scim2_cli.test imported it, is wrapped to keep the
CheckResult objects, which are then written to JSON_OUT (`scim test` has no JSON output)
and summarised in SUMMARY_OUT. The exit code is the CLI's: 0 only if every result is
SUCCESS (the CLI counts every other status, SKIPPED included, as a failure).
"""

from __future__ import annotations

import enum
import json
import sys
import traceback
from collections import Counter
from importlib import metadata
from typing import Any

import scim2_cli
import scim2_cli.test as cli_test

PACKAGES = ("scim2-cli", "scim2-tester", "scim2-client", "scim2-models", "pydantic")
MAX_TEXT = 4000

captured: list[Any] = []
_original_check_server = cli_test.check_server


def _recording_check_server(*args: Any, **kwargs: Any) -> Any:
    results = _original_check_server(*args, **kwargs)
    captured.extend(results)
    return results


cli_test.check_server = _recording_check_server


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"... [{len(value) - MAX_TEXT} more characters]"
    return value


def jsonable(obj: Any, depth: int = 0) -> Any:
    """A JSON-serialisable form of a CheckResult's data (models, responses, exceptions)."""
    if depth > 20:
        return _text(repr(obj))
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return _text(obj)
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in obj]
    if isinstance(obj, BaseException):
        return {"exception": type(obj).__name__, "message": _text(str(obj))}
    if hasattr(obj, "status_code") and hasattr(obj, "text"):  # an HTTP response
        out: dict[str, Any] = {"status_code": obj.status_code}
        request = getattr(obj, "request", None)
        if request is not None:
            out["request"] = f"{request.method} {request.url}"
        try:
            out["body"] = _text(obj.text)
        except Exception:  # noqa: BLE001 - best effort, for debugging only
            pass
        return out
    if hasattr(obj, "model_dump_json"):  # pydantic / scim2-models objects
        try:
            return json.loads(obj.model_dump_json(exclude_none=True))
        except Exception:  # noqa: BLE001
            try:
                return jsonable(obj.model_dump(), depth + 1)
            except Exception:  # noqa: BLE001
                pass
    return _text(repr(obj))


def _one_line(text: str | None, limit: int = 400) -> str:
    line = " | ".join(part.strip() for part in (text or "").splitlines() if part.strip())
    return line if len(line) <= limit else line[:limit] + "..."


def write_outputs(json_path: str, summary_path: str, exit_code: int, args: list[str]) -> None:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None

    counts = Counter(result.status.name for result in captured)
    records = [
        {
            "status": result.status.name,
            "title": result.title,
            "resource_type": result.resource_type,
            "tags": sorted(result.tags or []),
            "reason": result.reason,
            "description": (result.description or "").strip().split("\n\n")[0] or None,
            "data": jsonable(result.data),
        }
        for result in captured
    ]
    # Never write the Authorization header value (it is passed by environment anyway).
    safe_args = [arg if not arg.lower().startswith("authorization") else "Authorization: ***" for arg in args]
    with open(json_path, "w", encoding="utf-8") as fd:
        json.dump(
            {
                "tool_versions": versions,
                "cli_args": safe_args,
                "exit_code": exit_code,
                "counts": dict(sorted(counts.items())),
                "results": records,
            },
            fd,
            indent=2,
        )
        fd.write("\n")

    failing = [result for result in captured if result.status.name != "SUCCESS"]
    lines = []
    if not captured:
        lines.append("the tester ran no check (discovery failed before the checks: see report.txt)")
    else:
        lines.append(
            f"{len(captured)} results: "
            + ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        )
        if failing:
            lines.append("")
            lines.append("results other than SUCCESS:")
            for result in failing:
                where = f"[{result.resource_type}] " if result.resource_type else ""
                lines.append(f"  {result.status.name:<8} {where}{result.title}: {_one_line(result.reason)}")
    with open(summary_path, "w", encoding="utf-8") as fd:
        fd.write("\n".join(lines) + "\n")


def main() -> int:
    argv = sys.argv[1:]
    if len(argv) < 3 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    json_path, summary_path, cli_args = argv[0], argv[1], argv[3:]

    exit_code = 1
    try:
        scim2_cli.cli.main(args=cli_args, prog_name="scim", standalone_mode=True)
        exit_code = 0
    except SystemExit as exc:
        if exc.code is None:
            exit_code = 0
        elif isinstance(exc.code, int):
            exit_code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            exit_code = 1
    except Exception:  # noqa: BLE001 - a crash of the tester itself
        traceback.print_exc()
        exit_code = 1
    finally:
        sys.stdout.flush()
        try:
            write_outputs(json_path, summary_path, exit_code, cli_args)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            exit_code = exit_code or 1
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
