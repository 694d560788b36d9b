"""The day and hour names the hot paths ask for on every token (the usage counters' day, the abuse
signals' hour) are remembered per day and hour number: the same names as computed from the time, and a
new one the moment the day or hour turns."""

import datetime
import time

from core import clock
from core.hot_store.signal_counts import signal_hour
from oauth.usage import usage_day


def _utc(moment: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(moment, tz=datetime.UTC)


def test_names_turn_with_the_day_and_the_hour_and_match_the_clock():
    now = time.time()
    to_next_day = 86400 - now % 86400
    clock.advance(to_next_day - 0.5)  # half a second before midnight UTC
    before_day, before_hour = usage_day(), signal_hour()
    assert before_day == _utc(clock.wall()).date().isoformat()
    assert before_hour == _utc(clock.wall()).strftime("%Y%m%d%H")
    assert usage_day() == before_day and signal_hour() == before_hour  # remembered: the same
    clock.advance(1.0)  # half a second after
    assert usage_day() == _utc(clock.wall()).date().isoformat() != before_day
    assert signal_hour() == _utc(clock.wall()).strftime("%Y%m%d%H") != before_hour
    assert signal_hour(at=0.0) == "1970010100" and signal_hour(at=3599.999) == "1970010100"
    assert signal_hour(at=3600.0) == "1970010101"
