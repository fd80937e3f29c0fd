"""The output rules on a streamed answer, as the chat and realtime services use them.

``OutputScreen`` wraps the policy's ``OutputFilter`` (None: the policy has no output rules or streams raw)
and remembers what went out, so that at the end the rest of the *checked* answer can be sent: the
deltas a client receives always add up to the text of the final event.
"""

from __future__ import annotations

import structlog

from contracts.ports import OutputFilter

log = structlog.get_logger("switchboard.guardrails")


class OutputScreen:
    def __init__(self, output_filter: OutputFilter | None) -> None:
        self._filter = output_filter
        self._sent: list[str] = []

    @property
    def active(self) -> bool:
        return self._filter is not None

    def admit(self, delta: str) -> str:
        """The part of ``delta`` (and of earlier held text) that may go out now; raises
        ``GuardrailBlocked`` when a blocking rule matched."""
        released = self._filter.feed(delta) if self._filter is not None else delta
        if released:
            self._sent.append(released)
        return released

    def partial(self, raw: str) -> str:
        """What to store of an answer that did not finish: the checked text sent so far (``raw``, the
        provider's text, when no output rule applies)."""
        return "".join(self._sent) if self._filter is not None else raw

    def rest(self, checked_output: str) -> str:
        """What is left to send of ``checked_output`` (the whole-text check's answer)."""
        if self._filter is None:
            return ""
        sent = "".join(self._sent)
        if not checked_output.startswith(sent):  # cannot happen when both apply the same rules
            log.warning("guardrail.stream_mismatch", sent_chars=len(sent), output_chars=len(checked_output))
            return ""
        return checked_output[len(sent) :]
