"""What happens around a task's command, besides running it: the git workflow for
repository tasks, the agent's event summary, and notifications.

Kept out of the attempt loop (one concern per module). Every hook is best effort once
the command has run: a failing push or webhook is recorded in the task's result, it
never turns a finished task into a lost one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rclaude.model import Task, TaskState

log = logging.getLogger("rclaude.worker")


class TaskHooks:
    def __init__(self, platform, task: Task, workspace: Path) -> None:
        self.p = platform
        self.task = task
        self.workspace = workspace
        self.git = None

    # -- before the command -------------------------------------------------------
    def before(self) -> None:
        """Clone and branch a repository task (raises on bad input: the task fails)."""
        if self.task.spec.repo:
            from rclaude.compute.tokens import github_token_provider
            from rclaude.vcs import prepare_workspace

            self.git = prepare_workspace(
                self.task.spec,
                self.workspace,
                github_token_provider(),
                task_id=self.task.name or self.task.id,
                settings=self.p.config.git,
            )
        self.notify(self.task, "start")

    # -- after the command ------------------------------------------------------------
    def after(self, state: TaskState) -> dict[str, Any]:
        """Extra result fields: git branch/commit/PR and the agent's summary."""
        extra: dict[str, Any] = {}
        if self.git is not None and self.git.enabled:
            from rclaude.vcs import finalize

            cfg = self.p.config.git
            spec = self.task.spec
            want = {
                k: spec.extra.get(k, getattr(cfg, k))
                for k in ("auto_commit", "push", "pull_request")
            }
            try:
                info = finalize(
                    self.git, self.task, want["auto_commit"], want["push"], want["pull_request"]
                )
            except Exception as exc:  # recorded, not fatal: the command itself has finished
                info = {"errors": [str(exc)]}
            extra["git"] = info
            if info.get("pr_url"):
                extra["pull_request"] = info["pr_url"]
        if self.task.spec.prompt:
            extra["agent"] = self.agent_summary()
        return extra

    def agent_summary(self) -> dict[str, Any]:
        from rclaude.agent import parse_stream, summarize
        from rclaude.model import ChunkKind

        chunks = (
            c.data
            for c in self.p.service.read(self.task, self.task.attempt)
            if c.kind is ChunkKind.OUTPUT
        )
        try:
            return summarize(parse_stream(chunks))
        except Exception as exc:  # an agent that printed something unexpected
            return {"error": f"could not parse agent output: {exc}"}

    def notify(self, task: Task, event: str | None) -> None:
        if not event or not task.spec.extra.get("notify"):
            return
        from rclaude.notify import notify, task_summary

        try:
            outcome = notify(self.p.config.notify, event, task_summary(task), mailer=None)
            log.info("notification %s for %s: %s", event, task.id, outcome)
        except Exception as exc:
            log.warning("notification %s for %s failed: %s", event, task.id, exc)

    def finished(self, task: Task) -> None:
        from rclaude.notify import event_for_state

        self.notify(task, event_for_state(task.state.value))
