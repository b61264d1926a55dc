"""Pod schedules for the simulators: a ramp, scale steps, and seeded churn, as ``(time_s, delta_pods)`` events.

>>> ramp(3, every_s=5)
[(0.0, 1), (5.0, 1), (10.0, 1)]
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from ekslib._checks import is_whole, whole
from ekslib.errors import EkslibError
from ekslib.facts import POOL_LOOP_S

# ------------------------------------------------------------------------------------------------ schedules

#: A schedule: ``(time_s, delta)`` events, ``+n`` pods arriving on the node or ``-n`` leaving (newest first,
#: as a ReplicaSet scales down: kube-controller-manager deletes the most recently created pods first).
Schedule = Sequence[tuple[float, int]]


def ramp(pods: int, *, every_s: float = POOL_LOOP_S, start_s: float = 0.0,
         hold_s: float | None = None) -> list[tuple[float, int]]:
    """``pods`` pods arriving one every ``every_s``; with ``hold_s``, leaving again one by one after that hold.

    >>> ramp(3, every_s=10)
    [(0.0, 1), (10.0, 1), (20.0, 1)]
    >>> ramp(2, every_s=5, hold_s=60)
    [(0.0, 1), (5.0, 1), (65.0, -1), (70.0, -1)]
    """
    whole("pods", pods, minimum=0)
    if not every_s > 0 or start_s < 0:
        raise EkslibError(f"every_s must be > 0 and start_s >= 0, not every_s={every_s}, start_s={start_s}")
    events = [(float(start_s + i * every_s), 1) for i in range(pods)]
    if hold_s is not None:
        if hold_s < 0:
            raise EkslibError(f"hold_s must be >= 0, not {hold_s}")
        down = start_s + (pods - 1) * every_s + hold_s
        events += [(float(down + i * every_s), -1) for i in range(pods)]
    return events


def scale(targets: Sequence[tuple[float, int]]) -> list[tuple[float, int]]:
    """Events that move the pod count to each ``(time_s, pods)`` target in turn (a Deployment being scaled).

    >>> scale([(0, 5), (300, 2), (600, 8)])
    [(0.0, 5), (300.0, -3), (600.0, 6)]
    """
    events, current = [], 0
    for time_s, pods in sorted(targets, key=lambda item: item[0]):
        whole("pods", pods, minimum=0)
        if pods != current:
            events.append((float(time_s), pods - current))
            current = pods
    return events


def churn(pods: int, duration_s: float, *, lifetime_s: float = 300.0, seed: int = 0) -> list[tuple[float, int]]:
    """``pods`` pods from time 0, each replaced by a new pod when it ends (exponential lifetimes, mean
    ``lifetime_s``), for ``duration_s``; deterministic for a given ``seed``.

    >>> events = churn(4, 600, lifetime_s=120, seed=1)
    >>> events[0], sum(delta for _, delta in events)
    ((0.0, 4), 4)
    """
    whole("pods", pods, minimum=0)
    if not lifetime_s > 0 or not duration_s > 0:
        raise EkslibError(f"lifetime_s and duration_s must be > 0, not {lifetime_s} and {duration_s}")
    rng = random.Random(seed)
    events: list[tuple[float, int]] = [(0.0, pods)] if pods else []
    for _ in range(pods):
        t = rng.expovariate(1 / lifetime_s)
        while t < duration_s:
            events += [(round(t, 3), -1), (round(t, 3), 1)]
            t += rng.expovariate(1 / lifetime_s)
    return sorted(events, key=lambda e: (e[0], e[1]))


def schedule_events(schedule: Schedule) -> list[tuple[float, int]]:
    events = []
    for item in schedule:
        try:
            time_s, delta = item
        except (TypeError, ValueError):
            raise EkslibError(f"schedule event {item!r} is not a (time_s, delta_pods) pair") from None
        if not is_whole(delta):
            raise EkslibError(f"schedule event {item!r}: delta_pods must be a whole number such as 3 or -2")
        if not isinstance(time_s, (int, float, np.number)) or not math.isfinite(time_s) or time_s < 0:
            raise EkslibError(f"schedule event {item!r}: time_s must be a finite number of seconds >= 0")
        events.append((float(time_s), int(delta)))
    return sorted(events, key=lambda e: e[0])


