"""The worker process's one ``RagKit``: built on first use (never at import), or handed in.

A forking worker builds it in the parent before its first job, so every work horse inherits the
loaded model instead of loading it again. The parent only loads the model and never runs it:
PyTorch's thread pool does not survive a fork, so a model used before forking hangs the horse.
"""

from __future__ import annotations

import os

from ragkit import RagKit, Settings, load_detector

_kit: RagKit | None = None


def knowledge_base() -> RagKit:
    """This process's ``RagKit`` on ``DATABASE_URL`` (or the embedded server)."""
    global _kit
    if _kit is None:
        use_knowledge_base(RagKit.connect(Settings.from_env()))
    assert _kit is not None
    return _kit


def use_knowledge_base(kit: RagKit) -> None:
    """Make ``kit`` the one the jobs of this process use (tests share their session's)."""
    global _kit
    _kit = kit
    # Connections must not be shared with a forked work horse: each horse opens its own.
    os.register_at_fork(after_in_child=lambda: kit.database.engine.dispose(close=False))


def load_model() -> None:
    """Load what every job needs now, so forked work horses share it instead of each loading
    it again: the configured embedding model, the language detector and the job code."""
    _ = knowledge_base().model.embedding  # the passages' runtime (PyTorch), not only questions'
    load_detector()
    import workers.jobs  # noqa: F401  (imported once here, not in every horse)
