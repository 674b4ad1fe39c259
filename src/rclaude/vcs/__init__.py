"""Git branch/commit/push and GitHub pull requests for agent tasks.

The worker calls :func:`prepare_workspace` before a task's command and :func:`finalize`
after it. Tokens only ever reach git through a credential helper reading the child
process's environment (see :mod:`rclaude.vcs.git`).
"""

from rclaude.vcs.workflow import GitContext, check_git, finalize, prepare_workspace

__all__ = ["GitContext", "check_git", "finalize", "prepare_workspace"]
