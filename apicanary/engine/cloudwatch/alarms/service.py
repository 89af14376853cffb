"""CloudWatch metric alarms for the local engine: the API, state changes, history, callbacks.

:class:`AlarmEngine` keeps alarms in memory and in SQLite (:mod:`.tables`). What an alarm
sees and decides at an evaluation is :mod:`.evaluation` (over the pure :mod:`.decide`); this
module applies the decision and records it.

Evaluation (:meth:`AlarmEngine.evaluate`) is driven by the engine: call it every second (or at
least at every period boundary). Only *complete* periods are evaluated: at time ``now`` the
newest period of an alarm with period ``P`` is ``[floor(now/P)*P - P, floor(now/P)*P)``. So an
alarm with ``Period = 10`` sees errors of 09:00:00-09:00:09 at the first evaluation at or after
09:00:10. As in AWS, a new alarm starts in ``INSUFFICIENT_DATA`` ("Unchecked: Initial alarm
creation") and is evaluated at the next :meth:`evaluate`; ``set_alarm_state`` holds only until
then; an update keeps the current state. Actions are not executed locally — subscribe with
:meth:`AlarmEngine.on_state_change` (called after the change is persisted, outside locks).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apicanary.arns import DEFAULT_ACCOUNT, DEFAULT_REGION, alarm_arn
from apicanary.clock import Clock
from apicanary.engine.cloudwatch.alarms.config import parse_alarm
from apicanary.engine.cloudwatch.alarms.decide import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    STATES,
    json_text,
)
from apicanary.engine.cloudwatch.alarms.evaluation import evaluate
from apicanary.engine.cloudwatch.alarms.tables import AlarmRecord, AlarmTables
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.errors import AwsApiError
from apicanary.store import Store

__all__ = ["ALARM", "INSUFFICIENT_DATA", "OK", "AlarmEngine", "AlarmStateChange"]

log = logging.getLogger(__name__)

HISTORY_RETENTION_SECONDS = 30 * 86400
INITIAL_REASON = "Unchecked: Initial alarm creation"


@dataclass(frozen=True, slots=True)
class AlarmStateChange:
    """One state transition, as passed to :meth:`AlarmEngine.on_state_change` callbacks."""

    alarm_name: str
    old_state: str
    new_state: str
    reason: str
    reason_data: str | None
    timestamp: float


class AlarmEngine:
    """Metric alarms with CloudWatch semantics over a :class:`MetricStore`."""

    def __init__(
        self,
        metric_store: MetricStore,
        clock: Clock,
        store: Store | None = None,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT,
    ) -> None:
        self._metrics = metric_store
        self._clock = clock
        self._tables = AlarmTables(store)
        self._region = region
        self._account = account_id
        self._lock = threading.RLock()
        self._alarms: dict[str, AlarmRecord] = {}
        self._callbacks: list[Callable[[AlarmStateChange], None]] = []
        self._last_prune = -math.inf
        for record in self._tables.load():
            self._alarms[record.config.name] = record

    # -- API --------------------------------------------------------------------------------

    def put_metric_alarm(self, request: Mapping[str, Any]) -> None:
        """PutMetricAlarm: create, or replace the configuration keeping the current state."""
        config = parse_alarm(request)
        now = self._clock.now()
        with self._lock:
            existing = self._alarms.get(config.name)
            if existing is None:
                alarm = AlarmRecord(config, INSUFFICIENT_DATA, INITIAL_REASON, None, now, now, now)
                kind, summary = "Create", f'Alarm "{config.name}" created'
            else:
                alarm = existing
                alarm.config = config
                alarm.config_updated = now
                kind, summary = "Update", f'Alarm "{config.name}" updated'
            key = "createdAlarm" if kind == "Create" else "updatedAlarm"
            data = {"version": "1.0", "type": kind, key: self._describe(alarm)}
            self._alarms[config.name] = alarm
            entry = (config.name, now, "ConfigurationUpdate", summary, json_text(data))
            self._tables.save([alarm], [entry])

    def delete_alarms(self, names: Sequence[str]) -> None:
        """DeleteAlarms; names that do not exist are ignored ([Unverified]: AWS answers 200)."""
        if len(names) > 100:
            raise AwsApiError(
                "ValidationError",
                f"1 validation error detected: Value '{list(names)}' at 'alarmNames' failed to "
                "satisfy constraint: Member must have length less than or equal to 100",
            )
        with self._lock:
            gone = [n for n in names if self._alarms.pop(n, None) is not None]
            self._tables.delete(gone)

    def describe_alarms(
        self,
        alarm_names: Sequence[str] | None = None,
        alarm_name_prefix: str | None = None,
        state_value: str | None = None,
        action_prefix: str | None = None,
    ) -> list[dict[str, Any]]:
        """DescribeAlarms ``MetricAlarms``, sorted by name, filtered like AWS."""
        if alarm_names and alarm_name_prefix:
            raise AwsApiError(
                "InvalidParameterCombination",
                "AlarmNamePrefix and AlarmNames cannot be specified together.",  # [Unverified]
            )
        if state_value is not None and state_value not in STATES:
            raise _state_enum(state_value, "stateValue")
        with self._lock:
            alarms = sorted(self._alarms.values(), key=lambda a: a.config.name)
            out = []
            for alarm in alarms:
                name = alarm.config.name
                if alarm_names and name not in alarm_names:
                    continue
                if alarm_name_prefix and not name.startswith(alarm_name_prefix):
                    continue
                if state_value and alarm.state != state_value:
                    continue
                if action_prefix and not any(
                    a.startswith(action_prefix)
                    for a in (
                        *alarm.config.alarm_actions,
                        *alarm.config.ok_actions,
                        *alarm.config.insufficient_data_actions,
                    )
                ):
                    continue
                out.append(self._describe(alarm))
            return out

    def state_of(self, name: str) -> str:
        """The current state of alarm ``name`` (``ResourceNotFound`` if it does not exist)."""
        with self._lock:
            alarm = self._alarms.get(name)
            if alarm is None:
                raise _not_found(name)
            return alarm.state

    def describe_alarm_history(
        self,
        alarm_name: str | None = None,
        history_item_type: str | None = None,
        start_date: float | None = None,
        end_date: float | None = None,
        max_records: int | None = None,
        scan_by: str = "TimestampDescending",
    ) -> list[dict[str, Any]]:
        """DescribeAlarmHistory items (``AlarmName, AlarmType, Timestamp, HistoryItemType,
        HistorySummary, HistoryData``), newest first by default."""
        kinds = (
            "ConfigurationUpdate",
            "StateUpdate",
            "Action",
            "AlarmContributorStateUpdate",
            "AlarmContributorAction",
        )
        if history_item_type is not None and history_item_type not in kinds:
            raise _state_enum(history_item_type, "historyItemType", kinds)
        if scan_by not in ("TimestampDescending", "TimestampAscending"):
            raise _state_enum(scan_by, "scanBy", ("TimestampDescending", "TimestampAscending"))
        with self._lock:
            rows = self._tables.history()
        selected = [
            r
            for r in rows
            if (alarm_name is None or r[0] == alarm_name)
            and (history_item_type is None or r[2] == history_item_type)
            and (start_date is None or r[1] >= start_date)
            and (end_date is None or r[1] <= end_date)
        ]
        if scan_by == "TimestampDescending":
            selected.reverse()
        if max_records is not None:
            selected = selected[:max_records]
        return [
            {
                "AlarmName": name,
                "AlarmType": "MetricAlarm",
                "Timestamp": ts,
                "HistoryItemType": kind,
                "HistorySummary": summary,
                "HistoryData": data,
            }
            for name, ts, kind, summary, data in selected
        ]

    def set_alarm_state(
        self,
        alarm_name: str,
        state_value: str,
        state_reason: str,
        state_reason_data: str | None = None,
    ) -> None:
        """SetAlarmState: force a state until the next evaluation (recorded in history)."""
        if state_value not in STATES:
            raise _state_enum(state_value, "stateValue")
        if state_reason_data is not None:
            try:
                json.loads(state_reason_data)
            except ValueError:
                raise AwsApiError(
                    "InvalidFormat",
                    "StateReasonData is not valid JSON.",  # [Unverified]
                ) from None
        change = self._transition(
            alarm_name, state_value, state_reason, state_reason_data, self._clock.now()
        )
        if change is not None:
            self._notify([change])

    def on_state_change(self, callback: Callable[[AlarmStateChange], None]) -> Callable[[], None]:
        """Call ``callback`` after every state change; returns a function that unsubscribes."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def evaluate(self, now: float | None = None) -> list[AlarmStateChange]:
        """Evaluate every alarm at ``now`` (default: the clock); returns the state changes."""
        now = self._clock.now() if now is None else now
        with self._lock:
            names = sorted(self._alarms)
        changes: list[AlarmStateChange] = []
        for name in names:
            with self._lock:
                alarm = self._alarms.get(name)
                if alarm is None:
                    continue
                config, current = alarm.config, alarm.state
            decision, reason_data = evaluate(self._metrics, config, now)
            if decision.state is None or decision.state == current:
                continue
            change = self._transition(name, decision.state, decision.reason, reason_data, now)
            if change is not None:
                changes.append(change)
        self._prune(now)
        self._notify(changes)
        return changes

    # -- state changes ------------------------------------------------------

    def _transition(
        self, name: str, state: str, reason: str, reason_data: str | None, now: float
    ) -> AlarmStateChange | None:
        with self._lock:
            alarm = self._alarms.get(name)
            if alarm is None:
                raise _not_found(name)
            old = {
                "stateValue": alarm.state,
                "stateReason": alarm.reason,
            }
            if alarm.reason_data:
                old["stateReasonData"] = json.loads(alarm.reason_data)
            new: dict[str, Any] = {"stateValue": state, "stateReason": reason}
            if reason_data:
                new["stateReasonData"] = json.loads(reason_data)
            change = AlarmStateChange(name, alarm.state, state, reason, reason_data or None, now)
            alarm.state = state
            alarm.reason = reason
            alarm.reason_data = reason_data or None
            alarm.state_updated = now
            if change.old_state != state:
                alarm.state_transitioned = now
            summary = f"Alarm updated from {change.old_state} to {state}"
            history = {"version": "1.0", "oldState": old, "newState": new}
            self._tables.save([alarm], [(name, now, "StateUpdate", summary, json_text(history))])
            return change

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 3600:
            return
        self._last_prune = now
        with self._lock:
            self._tables.prune(now - HISTORY_RETENTION_SECONDS)

    def _notify(self, changes: Sequence[AlarmStateChange]) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for change in changes:
            for callback in callbacks:
                try:
                    callback(change)
                except Exception:  # a subscriber must not break evaluation
                    log.exception("alarm state-change callback failed for %s", change.alarm_name)

    def _describe(self, alarm: AlarmRecord) -> dict[str, Any]:
        out = alarm.config.describe()
        out["AlarmArn"] = alarm_arn(alarm.config.name, region=self._region, account=self._account)
        out["AlarmConfigurationUpdatedTimestamp"] = alarm.config_updated
        out["StateValue"] = alarm.state
        out["StateReason"] = alarm.reason
        if alarm.reason_data:
            out["StateReasonData"] = alarm.reason_data
        out["StateUpdatedTimestamp"] = alarm.state_updated
        out["StateTransitionedTimestamp"] = alarm.state_transitioned
        return out


def _not_found(name: str) -> AwsApiError:
    return AwsApiError("ResourceNotFound", f"Alarm {name} not found", 404)


def _state_enum(
    value: str, member: str, allowed: Sequence[str] = (OK, ALARM, INSUFFICIENT_DATA)
) -> AwsApiError:
    return AwsApiError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]",
    )
