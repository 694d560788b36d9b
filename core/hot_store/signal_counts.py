"""The counters abuse signals are computed from (`software_statements.signals`), kept by the hot paths in
the round trip they already make: no command, round trip or database write of their own.

- `SIGNALS_PENDING_KEY`, a hash the signals task claims and adds to the hourly rows in the database
  (`oauth.signal_flush`, as the usage flush does), one field per UTC hour, application, statement and
  kind: `"<YYYYMMDDHH>|<application id>|<statement jti>|<kind>"`, kind
    reg                a client registered;
    foreign:<platform> one of them whose X-Device-Info names a platform the application was not made for;
    first              a client's first token (the record's field `f1` remembers its hour);
    second             that client's second token, counted under the hour of its first (then `f1` is "-"
                       and nothing more is counted for the client).
- `networks_key(hour)`, a hash per hour that expires after `NETWORKS_TTL`, field
  `"<application id>|<statement jti>|<network>"` (an IPv4 address's /24, an IPv6 address's /48): the
  clients registered from that network in that hour. Read where it is (never copied to the database: one
  row per network would grow with the traffic), by the signals task.

`LocalStore` (the embedded default, and the fallback while Redis is down) keeps both in this process
(`local_signals`, `local_networks`); counts made in a web process while Redis was down stay in that
process (a signal is a hint, not a ledger: the usage counters are the record).
"""

import datetime
import ipaddress

from core import clock, process_state

from .base import LocalCounter

SIGNALS_PENDING_KEY = "dcr:signals:pending"
NETWORKS_PREFIX = "dcr:signals:networks:"
# The hour being counted and the one before it are read; a little more, for a late run.
NETWORKS_TTL = 3 * 3600
KINDS = ("reg", "first", "second")
FOREIGN = "foreign:"


def signal_hour(at: float | None = None) -> str:
    """The UTC hour of `at` (now by the hot paths' clock) as the fields name it: "YYYYMMDDHH"."""
    return clock.utc_period_name(clock.wall() if at is None else at, 3600, "%Y%m%d%H")


def hour_start(hour: str) -> datetime.datetime:
    return datetime.datetime.strptime(hour, "%Y%m%d%H").replace(tzinfo=datetime.UTC)


def networks_key(hour: str) -> str:
    return NETWORKS_PREFIX + hour


def network_of(ip_address: str | None) -> str:
    """The network an address counts in: its /24 (IPv4) or /48 (IPv6); "" when there is none."""
    if not ip_address:
        return ""
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def statement_prefix(hour: str, application_id: str, statement_jti: str) -> str:
    """What a pending field starts with; the kind follows."""
    return f"{hour}|{application_id}|{statement_jti}|"


def signal_field_parse(field: str | bytes) -> tuple[str, str, str, str]:
    """(hour, application id, statement jti, kind) of a pending field; ValueError when it is not one."""
    text = field.decode() if isinstance(field, bytes) else field
    hour, application_id, statement_jti, kind = text.split("|")
    if len(hour) != 10 or not hour.isdigit() or not (kind in KINDS or kind.startswith(FOREIGN)):
        raise ValueError(f"not a signal counter: {text[:100]!r}")
    return hour, application_id, statement_jti, kind


local_signals = process_state.register("local-signal-counts", LocalCounter())
# "<hour>|<application id>|<statement jti>|<network>" -> clients registered.
local_networks = process_state.register("local-signal-networks", LocalCounter())


def local_registration_count(*, application_id: str, statement_jti: str, network: str, foreign_platform: str) -> None:
    """What the registration script counts, in this process (`LocalStore`)."""
    hour = signal_hour()
    prefix = statement_prefix(hour, application_id, statement_jti)
    local_signals.increment(prefix + "reg")
    if foreign_platform:
        local_signals.increment(prefix + FOREIGN + foreign_platform)
    if network:
        local_networks.increment(f"{hour}|{application_id}|{statement_jti}|{network}")
