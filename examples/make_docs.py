"""Generate the binary example documents for the Nimbus Notes knowledge base.

Writes two files into the output directory (``docs/`` next to this script by default):

* ``troubleshooting.pdf`` - a six-page troubleshooting guide. Every topic starts on a new
  page, so the page on which each fact appears is fixed.
* ``refund-policy.docx`` - the refund and cancellation policy, using the built-in
  ``Title``, ``Heading 1`` and ``Heading 2`` styles.

The text of both documents is kept below in a minimal Markdown-like markup: blocks are
separated by blank lines; ``# `` starts a level-1 heading, ``## `` a level-2 heading, and
``- `` a bullet item (indented lines continue the item). Any other block is a paragraph.

Output is byte-for-byte reproducible: the PDF is written in ReportLab's invariant mode and
the DOCX has fixed core properties and fixed ZIP entry timestamps.

Usage::

    python examples/make_docs.py [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

import docx
from docx.document import Document as DocxDocument
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "docs"
PDF_NAME = "troubleshooting.pdf"
DOCX_NAME = "refund-policy.docx"

AUTHOR = "Nimbus Labs"
FIXED_TIMESTAMP = dt.datetime(2025, 4, 22, 9, 0, 0, tzinfo=dt.UTC)
ZIP_DATE_TIME = (2025, 4, 22, 9, 0, 0)

BlockKind = Literal["h1", "h2", "p", "ul"]


@dataclass(frozen=True)
class Block:
    """One parsed block: a heading, a paragraph, or a bulleted list (one item per entry)."""

    kind: BlockKind
    items: tuple[str, ...]

    @property
    def text(self) -> str:
        """The text of a heading or paragraph."""
        return self.items[0]


def parse_markup(source: str) -> list[Block]:
    """Parse the minimal markup described in the module docstring into blocks."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", textwrap.dedent(source).strip()):
        lines = [line.strip() for line in chunk.splitlines()]
        joined = " ".join(lines)
        if joined.startswith("## "):
            blocks.append(Block("h2", (joined[3:],)))
        elif joined.startswith("# "):
            blocks.append(Block("h1", (joined[2:],)))
        elif joined.startswith("- "):
            items: list[str] = []
            for line in lines:
                if line.startswith("- "):
                    items.append(line[2:])
                else:
                    items[-1] = f"{items[-1]} {line}"
            blocks.append(Block("ul", tuple(items)))
        else:
            blocks.append(Block("p", (joined,)))
    return blocks


# ---------------------------------------------------------------------------
# Troubleshooting guide (PDF): one entry per page.
# ---------------------------------------------------------------------------

GUIDE_TITLE = "Nimbus Notes Troubleshooting Guide"

GUIDE_PAGES: tuple[str, ...] = (
    """
    # Nimbus Notes Troubleshooting Guide

    This guide helps you solve the most common problems with Nimbus Notes on the desktop,
    web and mobile apps. Each page covers one topic: sync errors (page 2), offline mode and
    the local cache (page 3), sign-in problems and single sign-on (page 4), performance
    (page 5), and desktop app crashes and log files (page 6).

    ## Before you contact support

    Check status.nimbusnotes.example for ongoing incidents. Many problems are fixed by
    updating to the latest version: open Help → About Nimbus Notes and click Check for
    updates. The current version is 3.6.

    ## Contacting support

    Email support@nimbusnotes.example. The support team works Monday to Friday,
    08:00–18:00 UTC. Response times depend on your plan:

    - Free: community forum at community.nimbusnotes.example.
    - Pro: email support, reply within 24 hours.
    - Team: priority email and chat support, reply within 4 hours.

    ## What to include in your request

    - Your app version (Help → About Nimbus Notes) and operating system.
    - The exact error code shown in the app, for example E-1042.
    - The steps that lead to the problem and when it started.
    - A diagnostics file from Help → Troubleshooting → Export diagnostics (see page 6).

    Never send your password or backup codes. Nimbus Labs staff will never ask for them.
    """,
    """
    # Sync errors

    Nimbus Notes syncs changes in the background whenever you are online. The cloud icon in
    the bottom-left corner of the sidebar shows the sync status. To start a sync by hand,
    choose File → Sync now or press Ctrl+Shift+S (Cmd+Shift+S on macOS).

    ## E-1042: Sync conflict

    Error E-1042 means the same note was edited on two devices while at least one of them
    was offline, so the server received two different versions. No text is lost: Nimbus
    Notes keeps the server version in the original note and saves the other version as a
    separate note whose title ends in "(conflicted copy)".

    To fix a sync conflict:

    - Open the original note and click Resolve conflict in the note header (version 3.6 and
      later).
    - Compare the two versions side by side.
    - Choose Keep this version, or choose Merge to combine both versions.
    - Click Done. The conflicted copy is moved to Trash automatically.

    On versions earlier than 3.6, copy the changes you need from the conflicted copy into
    the original note by hand, then delete the copy. To avoid conflicts, let sync finish
    (check mark on the cloud icon) before you switch devices.

    ## Other sync error codes

    - E-1017 Storage quota exceeded: the workspace has reached its storage limit (2 GB on
      Free, 50 GB on Pro, 1 TB on Team). Delete large attachments and empty Trash, or
      upgrade. Items in Trash count towards storage until they are deleted.
    - E-1055 Attachment too large: the file is over the plan's limit (25 MB on Free, 200 MB
      on Pro, 500 MB on Team).
    - E-1090 Session expired: choose File → Sign out, then sign in again. Unsynced changes
      are kept on the device and upload after you sign in.

    If an error persists after 30 minutes, contact support with the error code and a
    diagnostics file (see page 6).
    """,
    """
    # Offline mode and clearing the cache

    Nimbus Notes stores the notes you have opened recently in a local cache, so you can keep
    working without an internet connection.

    ## How offline mode works

    When you are offline, the cloud icon in the sidebar turns grey with a line through it.
    You can read and edit any cached note and create new notes. Your changes are queued and
    sync automatically when you reconnect.

    To keep a whole notebook on your device, right-click it and choose Make available
    offline. Sharing, public links and searching notes that are not cached need a
    connection.

    ## Clearing the local cache

    Clear the cache if notes show outdated content that does not update after a manual
    sync, or if support asks you to. Clearing the cache deletes any changes that have not
    synced yet, so check first that the cloud icon shows a check mark.

    - Desktop: open Settings → Advanced → Clear local cache, click Clear and restart the
      app.
    - iOS and Android: open Settings → Storage → Clear cache.

    After the restart, Nimbus Notes downloads your notes again. Notebooks marked Make
    available offline are downloaded again automatically; this can take several minutes for
    large notebooks.

    ## Cache size and location

    The default cache size limit is 5 GB. Change it in Settings → Advanced → Cache size
    limit. When the cache is full, the notes you have not opened for the longest time are
    removed from the device first (they stay in the cloud). The cache is stored in:

    - Windows: %LOCALAPPDATA%\\Nimbus Notes\\Cache
    - macOS: ~/Library/Caches/Nimbus Notes
    - Linux: ~/.cache/nimbus-notes
    """,
    """
    # Sign-in problems and single sign-on (SSO)

    ## Incorrect email or password

    Check that Caps Lock is off and that you are using the email address on your account.
    After 5 failed sign-in attempts in a row, the account is locked for 15 minutes. To sign
    in straight away, click Forgot password? on the sign-in screen. The reset link is valid
    for 30 minutes, and resetting your password also removes the lock.

    ## Two-factor codes are not accepted

    Authenticator codes change every 30 seconds and depend on the correct time. Make sure
    the date and time on your phone are set automatically. If you have lost your phone or
    security key, sign in with one of your 10 backup codes. Without a backup code, email
    support@nimbusnotes.example from the address on your account; identity verification
    takes up to 3 business days.

    ## Signing in with SSO

    Single sign-on (SAML 2.0) is available on the Team plan. It has been tested with Okta,
    Microsoft Entra ID and Google Workspace. On the sign-in screen, choose Sign in with SSO
    and enter your workspace address, for example acme.nimbusnotes.example. Workspace owners
    set up SSO in Workspace settings → Security → Single sign-on.

    When SSO is enforced, members cannot sign in with a password. The workspace Owner can
    still sign in with a password for emergency access.

    ## SSO error codes

    - E-2003 SSO domain not verified: the workspace owner must add the DNS TXT record shown
      in Workspace settings → Security → Single sign-on. DNS changes can take up to 48 hours
      to be recognised.
    - E-2007 User not assigned: your identity provider has not given you access to Nimbus
      Notes. Ask your IT administrator to assign the app to your account.
    - E-2011 Certificate expired: the identity provider's signing certificate has expired.
      The workspace owner must upload the new certificate on the Single sign-on page.
    """,
    """
    # Performance

    ## System requirements

    The desktop app needs Windows 10 (64-bit) or later, macOS 12 Monterey or later, or
    Ubuntu 22.04 LTS or later, with at least 4 GB of RAM. 8 GB of RAM is recommended for
    workspaces with more than 10,000 notes.

    ## Slow start-up or typing lag

    - Update to the latest version. Version 3.6 starts about 25% faster on Windows.
    - Split notebooks that hold more than 10,000 notes into smaller ones.
    - Keep very large files, such as videos, as links instead of attachments. Notes with
      more than 5 MB of text are slow to edit; split them into several notes.
    - Close note windows you are not using. Each open window uses extra memory.

    ## Slow or incomplete search results

    If search is slow or misses notes you know exist, rebuild the search index: choose
    Help → Troubleshooting → Rebuild search index. Rebuilding takes about 5 minutes per
    10,000 notes, and search is unavailable until it finishes. You can keep editing notes
    while the index rebuilds.

    ## High CPU use or display glitches

    Some graphics drivers cause flickering, blank windows or high CPU use. Turn off
    Settings → Advanced → Use hardware acceleration and restart the app. If the problem goes
    away, update your graphics driver and then turn hardware acceleration back on.
    """,
    """
    # Desktop app crashes and log files

    ## If the app crashes or will not start

    Start Nimbus Notes in safe mode: hold Shift while the app launches, or run
    nimbus-notes --safe-mode from a terminal. Safe mode turns off extensions and custom
    themes. If the app works in safe mode, turn your extensions back on one at a time in
    Settings → Extensions to find the one that causes the crash.

    ## Log file locations

    The desktop app writes a log file named nimbus.log. A new log starts every day and logs
    are kept for 7 days. Logs contain technical events only, never the content of your
    notes.

    - Windows: %APPDATA%\\Nimbus Notes\\logs\\
    - macOS: ~/Library/Logs/Nimbus Notes/
    - Linux: ~/.config/nimbus-notes/logs/

    ## Sending a crash report

    Choose Help → Troubleshooting → Export diagnostics. The app saves a file named
    nimbus-diagnostics.zip to your Desktop, with the logs from the last 7 days and basic
    system details. Attach it to your email to support@nimbusnotes.example together with
    your app version. If the app does not open at all, zip the logs folder listed above and
    send that instead.

    ## Reinstalling the app

    Uninstall Nimbus Notes, download the latest installer from nimbusnotes.example/download
    and install it again. Your notes are stored in the cloud and download again after you
    sign in. Changes that had not synced before you uninstalled are lost, so check the sync
    status first if the app still opens.
    """,
)


# ---------------------------------------------------------------------------
# Refund and cancellation policy (DOCX).
# ---------------------------------------------------------------------------

POLICY_TITLE = "Nimbus Notes Refund and Cancellation Policy"

POLICY = """
    Effective date: 1 March 2025

    This policy explains how to cancel a Nimbus Notes subscription, when you can get a
    refund, and how prorated credits work. It applies to Pro and Team subscriptions bought
    directly from Nimbus Labs on nimbusnotes.example or in the desktop apps.

    # 1. Cancelling a subscription

    ## How to cancel

    Go to Settings → Billing → Cancel subscription. For a Team workspace, only the workspace
    Owner can cancel. You will receive a confirmation email. Cancelling never deletes your
    notes: when the paid period ends, the workspace moves to the Free plan, and content above
    the 2 GB Free storage limit becomes read-only.

    ## Cancelling a monthly plan

    A monthly plan stays active until the end of the month you have already paid for. You
    are not charged again.

    ## Cancelling an annual plan

    An annual plan stays active until the end of the paid year, unless you ask for a refund
    within the 14-day refund window (see section 2). Automatic renewal is turned off as soon
    as you cancel. To stop using the paid plan straight away after the refund window, downgrade
    instead and receive a prorated credit (see section 3).

    # 2. Refunds

    ## 14-day refund window for annual plans

    If you cancel an annual Pro or Team plan within 14 days of the purchase date or the
    renewal date, you receive a full refund. The workspace moves to the Free plan straight
    away. After 14 days, annual plans are not refunded in cash; instead, a downgrade gives
    you a prorated credit (see section 3).

    ## No refunds on monthly plans

    Monthly plans are not refundable, including partly used months. This does not affect
    your statutory rights where local consumer law gives you a right to withdraw from the
    contract.

    ## How refunds are paid

    Approved refunds are paid to the original payment method (Visa, Mastercard, American
    Express or PayPal) within 5–10 business days. Invoices paid by bank transfer are
    refunded by bank transfer. Refunds are made in the currency of the original charge.

    # 3. Prorated credits

    ## Downgrades after the refund window

    If you downgrade an annual plan after the 14-day refund window, the value of the unused
    full months is added to your account as a prorated credit. For example, downgrading an
    annual Pro plan ($84 per year) with 6 full months left gives a credit of $42.

    ## Removing Team members

    On an annual Team plan, removing a member gives a prorated credit for the rest of the
    year for that member's seat. On a monthly Team plan, the new member count applies from
    the next monthly bill, and no credit is given for the current month.

    ## Using credits

    Credits are applied automatically to your next invoices. They cannot be exchanged for
    cash or moved to another account. Credits expire 12 months after they are issued, and
    unused credits are removed when the account is deleted.

    # 4. How to request a refund

    Email billing@nimbusnotes.example from the email address on your account, or use
    Settings → Billing → Request a refund. Please include:

    - the invoice number, which starts with INV- and is shown in Settings → Billing →
      Invoices;
    - the name of the workspace;
    - the reason for the request (optional, but it helps us improve).

    The billing team replies within 2 business days. Requests sent after the 14-day window
    are reviewed under section 5 only.

    # 5. Exceptions

    ## Cases that are always refunded

    - Duplicate charges and charges made after a confirmed cancellation are refunded in full
      if you report them within 60 days.
    - Team plan service credits: if availability falls below 99.9% in a calendar month, the
      workspace Owner can request a credit of 10% of that month's fee within 30 days of the
      end of the month.

    ## Cases that are not refunded

    - Subscriptions bought through the Apple App Store or Google Play. Apple and Google
      handle these refunds under their own policies.
    - Accounts closed by Nimbus Labs for breaking the Terms of Service.
    - Gift subscriptions and promotional credits.

    # 6. Failed payments

    If a payment fails, Nimbus Labs retries the payment method 3 times over 7 days and emails
    the account owner after each attempt. If all retries fail, the workspace moves to the
    Free plan. No notes are deleted. Paying the outstanding invoice in Settings → Billing
    restores the paid plan straight away.

    # 7. Changes to this policy and contact

    We will email account owners at least 30 days before any change to this policy takes
    effect. Billing questions: billing@nimbusnotes.example. All other questions:
    support@nimbusnotes.example.
"""


# ---------------------------------------------------------------------------
# PDF writer
# ---------------------------------------------------------------------------


def _pdf_styles() -> StyleSheet1:
    """Return the sample stylesheet with sizes tuned for the guide."""
    styles = getSampleStyleSheet()
    styles["Heading1"].fontSize = 20
    styles["Heading1"].leading = 24
    styles["Heading1"].spaceAfter = 10
    styles["Heading2"].fontSize = 13
    styles["Heading2"].leading = 16
    styles["Heading2"].spaceBefore = 10
    styles["Heading2"].spaceAfter = 4
    styles.add(
        ParagraphStyle("Body", parent=styles["BodyText"], fontSize=10.5, leading=14.5, spaceAfter=6)
    )
    styles.add(
        ParagraphStyle(
            "ListItem", parent=styles["Body"], leftIndent=14, bulletIndent=4, spaceAfter=3
        )
    )
    return styles


def _pdf_flowables(blocks: list[Block], styles: StyleSheet1) -> list[Flowable]:
    """Convert parsed blocks into ReportLab flowables."""
    heading_styles = {"h1": "Heading1", "h2": "Heading2", "p": "Body"}
    flowables: list[Flowable] = []
    for block in blocks:
        if block.kind == "ul":
            # An en dash is used as the bullet: it renders in the standard fonts and
            # survives text extraction intact.
            for item in block.items:
                flowables.append(Paragraph(escape(item), styles["ListItem"], bulletText="\u2013"))
            flowables.append(Spacer(1, 3))
        else:
            flowables.append(Paragraph(escape(block.text), styles[heading_styles[block.kind]]))
    return flowables


def _pdf_story(pages: tuple[str, ...], styles: StyleSheet1) -> list[Flowable]:
    """Build the story, with an explicit page break between topics."""
    story: list[Flowable] = []
    for index, page in enumerate(pages):
        if index:
            story.append(PageBreak())
        story.extend(_pdf_flowables(parse_markup(page), styles))
    return story


def _draw_footer(canvas: Canvas, doc: BaseDocTemplate) -> None:
    """Draw the running footer; called at the end of each page so body text comes first."""
    canvas.saveState()
    canvas.setFont("Helvetica", 8.5)
    canvas.setFillGray(0.4)
    canvas.drawString(doc.leftMargin, 12 * mm, f"{GUIDE_TITLE} \u2013 Nimbus Labs")
    canvas.drawRightString(doc.pagesize[0] - doc.rightMargin, 12 * mm, f"Page {doc.page}")
    canvas.restoreState()


def write_pdf(path: Path) -> int:
    """Write the troubleshooting guide to ``path`` and return its page count."""
    doc = BaseDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=22 * mm,
        title=GUIDE_TITLE,
        author=AUTHOR,
        subject="Troubleshooting sync, offline mode, sign-in, performance and crashes",
        creator=AUTHOR,
        producer=AUTHOR,
        invariant=1,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=_draw_footer)])
    doc.build(_pdf_story(GUIDE_PAGES, _pdf_styles()))
    return doc.page


# ---------------------------------------------------------------------------
# DOCX writer
# ---------------------------------------------------------------------------


def _docx_add_blocks(document: DocxDocument, blocks: list[Block]) -> None:
    """Append parsed blocks to ``document`` using the built-in styles."""
    for block in blocks:
        if block.kind == "h1":
            document.add_heading(block.text, level=1)
        elif block.kind == "h2":
            document.add_heading(block.text, level=2)
        elif block.kind == "ul":
            for item in block.items:
                document.add_paragraph(item, style="List Bullet")
        else:
            document.add_paragraph(block.text)


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a ZIP archive with fixed entry timestamps so its bytes are reproducible."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def write_docx(path: Path) -> None:
    """Write the refund and cancellation policy to ``path``."""
    document = docx.Document()
    props = document.core_properties
    props.title = POLICY_TITLE
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.subject = "Refunds, cancellations and prorated credits"
    props.keywords = "refund, cancellation, billing, credits"
    props.comments = ""
    props.revision = 1
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    props.last_printed = FIXED_TIMESTAMP

    document.add_heading(POLICY_TITLE, level=0)
    _docx_add_blocks(document, parse_markup(POLICY))

    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_normalise_zip(buffer.getvalue()))


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate both documents into the output directory."""
    args = parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)

    pdf_path = out_dir / PDF_NAME
    pages = write_pdf(pdf_path)
    if pages != len(GUIDE_PAGES):
        raise SystemExit(
            f"{pdf_path}: expected {len(GUIDE_PAGES)} pages, got {pages}; a topic overflows"
        )
    print(f"wrote {pdf_path} ({pages} pages)")

    docx_path = out_dir / DOCX_NAME
    write_docx(docx_path)
    print(f"wrote {docx_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
