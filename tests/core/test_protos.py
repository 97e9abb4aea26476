"""Timestamps into protobuf: the same as the library's `Timestamp.FromDatetime`, whatever the
zone, before 1970 too, and naive datetimes taken as UTC (as FromDatetime takes them)."""

from __future__ import annotations

import datetime as dt

from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from hotgigs.core.protos import timestamp

# zones' offsets in whole minutes, as real zones have (FromDatetime drops an offset's
# microseconds; no zone has them)
ZONES = st.one_of(st.none(), st.just(dt.UTC), st.builds(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59)))


def library(value: dt.datetime) -> timestamp_pb2.Timestamp:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)
    return expected


@given(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                    timezones=ZONES))
def test_equals_from_datetime(value: dt.datetime) -> None:
    assert timestamp(value) == library(value)


def test_examples_and_none() -> None:
    assert timestamp(None) is None
    at = timestamp(dt.datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=dt.UTC))
    assert at is not None and (at.seconds, at.nanos) == (-1, 500_000_000)
    berlin = dt.timezone(dt.timedelta(hours=2))
    assert timestamp(dt.datetime(2026, 5, 3, 14, 0, tzinfo=berlin)) == \
        timestamp(dt.datetime(2026, 5, 3, 12, 0))
