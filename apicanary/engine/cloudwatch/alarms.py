"""CloudWatch metric alarms for the local engine: CRUD, evaluation, history, callbacks.

:class:`AlarmEngine` keeps alarms in memory and in SQLite (component ``"alarms"``). The
decision itself is pure (:mod:`apicanary.engine.cloudwatch.alarm_eval`); this module fetches the
evaluation range from the :class:`~apicanary.engine.cloudwatch.metrics.MetricStore`, applies the
decision, and records it.

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
from apicanary.engine.cloudwatch import queries as metric_data
from apicanary.engine.cloudwatch.alarm_config import AlarmConfig, parse_alarm
from apicanary.engine.cloudwatch.alarm_eval import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    STATES,
    Decision,
    Slot,
    decide,
    evaluation_range,
    iso_time,
)
from apicanary.engine.cloudwatch.metrics.store import MetricStore
from apicanary.engine.cloudwatch.values import MetricKey, parse_percentile
from apicanary.errors import AwsApiError
from apicanary.store import Store

__all__ = ["ALARM", "INSUFFICIENT_DATA", "OK", "AlarmEngine", "AlarmStateChange"]

log = logging.getLogger(__name__)

HISTORY_RETENTION_SECONDS = 30 * 86400
INITIAL_REASON = "Unchecked: Initial alarm creation"

MIGRATIONS = [
    """
    CREATE TABLE cw_alarms (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        state_value TEXT NOT NULL,
        state_reason TEXT NOT NULL,
        state_reason_data TEXT,
        state_updated REAL NOT NULL,
        state_transitioned REAL NOT NULL,
        config_updated REAL NOT NULL
    );
    CREATE TABLE cw_alarm_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm_name TEXT NOT NULL,
        timestamp REAL NOT NULL,
        item_type TEXT NOT NULL,
        summary TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX cw_alarm_history_by_name ON cw_alarm_history (alarm_name, seq);
    """
]


@dataclass(frozen=True, slots=True)
class AlarmStateChange:
    """One state transition, as passed to :meth:`AlarmEngine.on_state_change` callbacks."""

    alarm_name: str
    old_state: str
    new_state: str
    reason: str
    reason_data: str | None
    timestamp: float


@dataclass(slots=True)
class _Alarm:
    config: AlarmConfig
    state: str
    reason: str
    reason_data: str | None
    state_updated: float
    state_transitioned: float
    config_updated: float


_History = tuple[str, float, str, str, str]  # name, timestamp, type, summary, data


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
        self._store = store
        self._region = region
        self._account = account_id
        self._lock = threading.RLock()
        self._alarms: dict[str, _Alarm] = {}
        self._history: list[_History] = []  # only used without a Store
        self._callbacks: list[Callable[[AlarmStateChange], None]] = []
        self._last_prune = -math.inf
        if store is not None:
            store.migrate("alarms", MIGRATIONS)
            self._load(store)

    # -- API --------------------------------------------------------------------------------

    def put_metric_alarm(self, request: Mapping[str, Any]) -> None:
        """PutMetricAlarm: create, or replace the configuration keeping the current state."""
        config = parse_alarm(request)
        now = self._clock.now()
        with self._lock:
            existing = self._alarms.get(config.name)
            if existing is None:
                alarm = _Alarm(config, INSUFFICIENT_DATA, INITIAL_REASON, None, now, now, now)
                kind, summary = "Create", f'Alarm "{config.name}" created'
            else:
                alarm = existing
                alarm.config = config
                alarm.config_updated = now
                kind, summary = "Update", f'Alarm "{config.name}" updated'
            key = "createdAlarm" if kind == "Create" else "updatedAlarm"
            data = {"version": "1.0", "type": kind, key: self._describe(alarm)}
            self._alarms[config.name] = alarm
            entry = (config.name, now, "ConfigurationUpdate", summary, _dumps(data))
            self._persist([alarm], [entry])

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
            if self._store is not None and gone:
                with self._store.transaction() as conn:
                    conn.executemany("DELETE FROM cw_alarms WHERE name = ?", [(n,) for n in gone])

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
        rows: list[_History]
        if self._store is not None:
            rows = [
                (r["alarm_name"], r["timestamp"], r["item_type"], r["summary"], r["data"])
                for r in self._store.query(
                    "SELECT alarm_name, timestamp, item_type, summary, data "
                    "FROM cw_alarm_history ORDER BY seq"
                )
            ]
        else:
            with self._lock:
                rows = list(self._history)
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
            decision, reason_data = self.decide(config, now)
            if decision.state is None or decision.state == current:
                continue
            change = self._transition(name, decision.state, decision.reason, reason_data, now)
            if change is not None:
                changes.append(change)
        self._prune(now)
        self._notify(changes)
        return changes

    # -- evaluation -------------------------------------------------------------------------

    def evaluation_slots(self, config: AlarmConfig, now: float) -> list[Slot]:
        """The evaluation range at ``now``: the last N + 2 complete periods, oldest first."""
        period = config.period
        end = math.floor(now / period) * period
        count = evaluation_range(config.evaluation_periods)
        start = end - count * period
        values: dict[float, tuple[float, float | None]] = {}
        if config.metrics is None:
            stat = config.stat
            assert stat is not None and config.namespace and config.metric_name
            key: MetricKey = (config.namespace, config.metric_name, config.dimensions)
            quantiles = parse_percentile(stat) is not None
            for ts, agg in self._metrics.aggregates(
                key, start, end, period, quantiles=quantiles, unit=config.unit
            ):
                values[ts] = (agg.stat(stat), float(agg.count))
        else:
            results = metric_data.evaluate_queries(self._metrics, config.metrics, start, end)
            if results:
                for ts, value in results[0][2].items():
                    values[ts] = (value, None)
        slots = []
        for i in range(count):
            ts = float(start + i * period)
            found = values.get(ts)
            slots.append(
                Slot(ts, found[0], found[1]) if found is not None else Slot(ts, None, None)
            )
        return slots

    def decide(self, config: AlarmConfig, now: float) -> tuple[Decision, str]:
        """The decision for ``config`` at ``now`` and its StateReasonData JSON (no side effect)."""
        slots = self.evaluation_slots(config, now)
        if self._low_sample_count(config, slots):
            return Decision(None, ""), ""
        decision = decide(
            slots,
            threshold=config.threshold,
            operator=config.comparison_operator,
            evaluation_periods=config.evaluation_periods,
            datapoints_to_alarm=config.datapoints_to_alarm,
            treat_missing=config.treat_missing_data,
        )
        return decision, self._reason_data(config, slots, decision, now)

    @staticmethod
    def _low_sample_count(config: AlarmConfig, slots: Sequence[Slot]) -> bool:
        """EvaluateLowSampleCountPercentile=ignore: skip while a percentile datapoint among
        the newest N has fewer than 10 / (1 - p) samples (p99 → 1,000)."""
        if config.evaluate_low_sample_count_percentile != "ignore":
            return False
        q = parse_percentile(config.extended_statistic or "")
        if q is None or q >= 1.0:
            return False
        needed = 10.0 / (1.0 - q)
        recent = [s for s in slots if s.value is not None][-config.evaluation_periods :]
        return any(s.sample_count is not None and s.sample_count < needed for s in recent)

    @staticmethod
    def _reason_data(
        config: AlarmConfig, slots: Sequence[Slot], decision: Decision, now: float
    ) -> str:
        data: dict[str, Any] = {
            "version": "1.0",
            "queryDate": iso_time(now),
            "startDate": iso_time(slots[0].timestamp) if slots else iso_time(now),
        }
        if config.statistic:
            data["statistic"] = config.statistic
        if config.extended_statistic:
            data["extendedStatistic"] = config.extended_statistic
        if config.unit:
            data["unit"] = config.unit
        data["period"] = config.period
        data["recentDatapoints"] = [s.value for s in slots if s.value is not None]
        data["threshold"] = config.threshold
        if decision.evaluated:
            evaluated = []
            for s in reversed(decision.evaluated):
                item: dict[str, Any] = {"timestamp": iso_time(s.timestamp)}
                if s.sample_count is not None:
                    item["sampleCount"] = s.sample_count
                item["value"] = s.value
                evaluated.append(item)
            data["evaluatedDatapoints"] = evaluated
        return _dumps(data)

    # -- state changes and persistence ------------------------------------------------------

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
            self._persist([alarm], [(name, now, "StateUpdate", summary, _dumps(history))])
            return change

    def _persist(self, alarms: Sequence[_Alarm], history: Sequence[_History]) -> None:
        if self._store is None:
            self._history.extend(history)
            return
        with self._store.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO cw_alarms(name, config, state_value, state_reason, "
                "state_reason_data, state_updated, state_transitioned, config_updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        a.config.name,
                        _dumps(a.config.request),
                        a.state,
                        a.reason,
                        a.reason_data,
                        a.state_updated,
                        a.state_transitioned,
                        a.config_updated,
                    )
                    for a in alarms
                ],
            )
            conn.executemany(
                "INSERT INTO cw_alarm_history(alarm_name, timestamp, item_type, summary, data) "
                "VALUES (?, ?, ?, ?, ?)",
                history,
            )

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 3600:
            return
        self._last_prune = now
        cutoff = now - HISTORY_RETENTION_SECONDS
        if self._store is None:
            with self._lock:
                self._history = [h for h in self._history if h[1] >= cutoff]
            return
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM cw_alarm_history WHERE timestamp < ?", (cutoff,))

    def _load(self, store: Store) -> None:
        for row in store.query("SELECT * FROM cw_alarms ORDER BY name"):
            config = parse_alarm(json.loads(row["config"]))
            self._alarms[config.name] = _Alarm(
                config,
                row["state_value"],
                row["state_reason"],
                row["state_reason_data"],
                row["state_updated"],
                row["state_transitioned"],
                row["config_updated"],
            )

    def _notify(self, changes: Sequence[AlarmStateChange]) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for change in changes:
            for callback in callbacks:
                try:
                    callback(change)
                except Exception:  # a subscriber must not break evaluation
                    log.exception("alarm state-change callback failed for %s", change.alarm_name)

    def _describe(self, alarm: _Alarm) -> dict[str, Any]:
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


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=False)


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
