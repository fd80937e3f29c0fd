"""``TurnState``: what one agent turn on the SDK engine knows, shared by its tools and its model.

The SDK hands tools a run context but gives models none, so the runtime creates one ``TurnState`` per
turn and passes it both ways: as the SDK run context (tools read ``tool_context`` and record their
neutral results) and to the turn's ``SwitchboardModel`` (which records what each model call reported and
reads the recorded tool results to keep tool names and error flags in the next request).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.errors import ProviderUnavailable
from contracts.models import Attempt, ModelResponse
from contracts.tools import ToolContext, ToolResult
from contracts.usage import Usage


@dataclass(slots=True)
class TurnState:
    """One turn: who is calling, the tool results so far (by call id), and the model calls' outcome.

    ``provider``/``model`` are those of the last model response; ``usage`` the sum over every model
    call; ``attempts`` every failed model call a router reported on the way (in order).
    """

    tool_context: ToolContext
    results: dict[str, ToolResult] = field(default_factory=dict)
    provider: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    attempts: list[Attempt] = field(default_factory=list)
    model_calls: int = 0

    def answered(self, response: ModelResponse) -> None:
        """Record a model call that answered."""
        self.model_calls += 1
        self.provider = response.provider or self.provider
        self.model = response.model or self.model
        self.usage = self.usage.plus(response.usage)
        self.attempts.extend(response.attempts)

    def failed(self, error: ProviderUnavailable) -> None:
        """Record a model call that failed: the error is kept as raised (class, failure, detail), and
        its ``attempts`` are extended with those of the turn's earlier model calls, so they list every
        failed call of the turn."""
        self.model_calls += 1
        if self.attempts:
            error.attempts = (*self.attempts, *error.attempts)
