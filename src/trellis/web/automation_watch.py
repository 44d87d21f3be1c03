"""What the hub (``hub.py``) pushes about automation: a schedule's or sensor's tick that
began or ended (``{"type": "tick", "name": ..., "tick": {...}}``, the tick as
``/api/automation`` lists it), and new declarative automation evaluations
(``{"type": "evaluation", "evaluation_id": <the highest stored>}``), so the Automation
page and the asset page update in place instead of reloading."""

from __future__ import annotations

from typing import Any

WATCHED_TICKS = 3  # the newest ticks of each schedule or sensor looked at


class AutomationWatch:
    """Remembers the newest ticks of each instigator and the highest evaluation id, and
    says what changed since the last look."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance
        self._ticks: dict[str, dict[int, tuple[Any, ...]]] = {}
        self._evaluation_id: int | None = None

    def poll(self, publish: bool = True) -> list[dict[str, Any]]:
        """The messages for what changed (none when ``publish`` is false: the first look
        takes the current state as known)."""
        from trellis.web.api_automation import tick_json

        messages: list[dict[str, Any]] = []
        for state in self.instance.get_instigator_states():
            seen = self._ticks.get(state.name, {})
            ticks = self.instance.get_ticks(state.name, limit=WATCHED_TICKS)
            now: dict[int, tuple[Any, ...]] = {}
            for tick in reversed(ticks):  # oldest first
                signature = (tick.status, tick.end_timestamp, tick.run_ids)
                assert tick.tick_id is not None
                now[tick.tick_id] = signature
                if seen.get(tick.tick_id) != signature:
                    messages.append({"type": "tick", "name": state.name, "tick": tick_json(tick)})
            self._ticks[state.name] = now
        latest = self.instance.get_max_automation_evaluation_id()
        if latest is not None and latest != self._evaluation_id:
            messages.append({"type": "evaluation", "evaluation_id": latest})
        self._evaluation_id = latest
        return messages if publish else []
