"""The mongod release mongoemu plays, and that release's feature compatibility version (FCV).

The release comes from the environment variable ``MONGOEMU_VERSION`` ("7.0.14", "8.0.4"; the
field lab's packages export it in /usr/bin/mongod), defaulting to :data:`mongoemu.MONGOD_VERSION`.
It decides what the member reports (``mongod --version``, buildInfo, serverStatus, hello's
maxWireVersion) and which FCV documents it accepts, as the binary of that release does:

* a binary of release N knows three FCVs: last-LTS, last-continuous and N
  (src/mongo/util/version/releases.h, GenericFCV); any other value in the FCV document is an
  "UPGRADE PROBLEM" at startup (exit 62) and a fatal error when a secondary replicates it;
* the FCV document's steady and transitional shapes (FCVTransitions in
  src/mongo/db/commands/feature_compatibility_version.cpp): {version}, upgrading
  {version: from, targetVersion: N}, downgrading {version: lastLTS, targetVersion: lastLTS,
  previousVersion: N};
* the wire versions a member accepts from and requires of the other members follow the FCV
  (FeatureCompatibilityVersion::updateMinWireVersion): the latest wire version when the FCV is
  N or moving to or from N, the last-LTS one otherwise - which is what cuts an older binary off
  a set once its FCV starts moving to a newer release.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from mongoemu import MONGOD_VERSION

ENV = "MONGOEMU_VERSION"
FCV_ID = "featureCompatibilityVersion"
FCV_NS = "admin.system.version"

#: src/mongo/db/wire_version.h: the wire version of each release mongoemu needs to know
WIRE = {"5.0": 13, "5.3": 16, "6.0": 17, "6.3": 20, "7.0": 21, "7.3": 24, "8.0": 25}


@dataclass(frozen=True)
class Series:
    latest: str
    last_continuous: str
    last_lts: str

    @property
    def fcvs(self) -> tuple[str, str, str]:
        return (self.last_lts, self.last_continuous, self.latest)


#: the release series mongoemu can play and their GenericFCV values (releases.h of each branch)
SERIES = {
    "6.0": Series("6.0", "5.3", "5.0"),
    "7.0": Series("7.0", "6.3", "6.0"),
    "8.0": Series("8.0", "7.3", "7.0"),
}


class UnsupportedRelease(ValueError):
    pass


@dataclass(frozen=True)
class Release:
    version: str          # "8.0.4"
    series: Series

    @property
    def version_array(self) -> list[int]:
        return [int(p) for p in self.version.split(".")] + [0]

    @property
    def max_wire(self) -> int:
        return WIRE[self.series.latest]

    @property
    def requires_confirm(self) -> bool:
        """setFeatureCompatibilityVersion's ``confirm`` field exists from 7.0 on
        (SERVER-74398; set_feature_compatibility_version.idl of 7.0)."""
        return self.series.latest != "6.0"

    def compatibility_link(self) -> str:
        """feature_compatibility_version_documentation::kCompatibilityLink (last-LTS)."""
        return (f"https://docs.mongodb.com/master/release-notes/{self.series.last_lts}"
                "-compatibility/#feature-compatibility")

    def upgrade_link(self) -> str:
        return (f"https://docs.mongodb.com/master/release-notes/{self.series.last_lts}"
                "/#upgrade-procedures")


def parse_release(value: str) -> Release:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", value.strip())
    if not match or f"{match[1]}.{match[2]}" not in SERIES:
        known = ", ".join(f"{s}.x" for s in SERIES)
        raise UnsupportedRelease(f"{ENV}={value!r} is not a release mongoemu can play "
                                 f"(one of {known}, e.g. 7.0.14 or 8.0.4)")
    return Release(value.strip(), SERIES[f"{match[1]}.{match[2]}"])


_current: Release | None = None


def current() -> Release:
    """The release of this process (read once from the environment)."""
    global _current
    if _current is None:
        _current = parse_release(os.environ.get(ENV) or MONGOD_VERSION)
    return _current


def check_environment() -> str | None:
    """The startup refusal for an unsupported MONGOEMU_VERSION, or None."""
    try:
        current()
    except UnsupportedRelease as exc:
        return str(exc)
    return None


# -- the FCV document --------------------------------------------------------------------------


class FcvError(Exception):
    """An FCV document or value this binary does not accept (code and message as mongod's)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_value(value: Any, rel: Release | None = None) -> FcvError:
    """FeatureCompatibilityVersionParser::parseVersion of 7.0/8.0 (uassert 4926900)."""
    rel = rel or current()
    expected = " or ".join(f"'{v}'" for v in rel.series.fcvs)
    return FcvError(4926900, f"Invalid feature compatibility version value '{value}'; "
                             f"expected {expected}. See {rel.compatibility_link()}.")


def bson_repr(doc: dict[str, Any]) -> str:
    """BSONObj::toString of a flat document: { _id: "x", version: "7.0" }."""
    parts = []
    for key, value in doc.items():
        parts.append(f"{key}: {json.dumps(value) if isinstance(value, str) else value}")
    return "{ " + ", ".join(parts) + " }"


@dataclass(frozen=True)
class Fcv:
    version: str
    target: str | None = None
    previous: str | None = None

    @property
    def transitioning(self) -> bool:
        return self.target is not None

    def describe(self) -> str:
        """multiversion::toString of a (perhaps transitional) FCV."""
        if self.previous is not None:
            return f"downgrading from {self.previous} to {self.target}"
        if self.target is not None:
            return f"upgrading from {self.version} to {self.target}"
        return self.version

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"_id": FCV_ID, "version": self.version}
        if self.target is not None:
            doc["targetVersion"] = self.target
        if self.previous is not None:
            doc["previousVersion"] = self.previous
        return doc

    def parameter(self) -> dict[str, Any]:
        """getParameter featureCompatibilityVersion (the document without its _id)."""
        return {k: v for k, v in self.document().items() if k != "_id"}


def parse_document(doc: dict[str, Any], rel: Release | None = None) -> Fcv:
    """FeatureCompatibilityVersionParser::parse: every version field must be one of this
    binary's FCVs (else 4926900 with the document as context), and the combination one of
    FCVTransitions' documents (else 5147400)."""
    rel = rel or current()
    series = rel.series
    try:
        fields = {}
        for key in ("version", "targetVersion", "previousVersion"):
            if key in doc:
                if doc[key] not in series.fcvs:
                    raise invalid_value(doc[key], rel)
                fields[key] = doc[key]
        if "version" not in fields:
            raise FcvError(40414, "BSON field 'featureCompatibilityVersionDocument.version' "
                                  "is missing but a required field")
    except FcvError as exc:
        raise FcvError(exc.code, f"Invalid featureCompatibilityVersion document in "
                                 f"{FCV_NS}: {bson_repr(doc)}. See "
                                 f"{rel.compatibility_link()}. :: caused by :: "
                                 f"{exc.message}") from None
    fcv = Fcv(fields["version"], fields.get("targetVersion"), fields.get("previousVersion"))
    allowed = {Fcv(v) for v in series.fcvs}
    allowed |= {Fcv(series.last_lts, series.latest), Fcv(series.last_continuous, series.latest),
                Fcv(series.last_lts, series.last_lts, series.latest)}
    if fcv not in allowed:
        raise FcvError(5147400, "invalid feature compatibility document")
    return fcv


def upgrade_problem(error: FcvError) -> str:
    """The "Wrong mongod version" fatal message of a startup on an FCV document this binary
    does not accept (FeatureCompatibilityVersion::initializeForStartup, exit 62)."""
    rel = current()
    return (f"UPGRADE PROBLEM: Found an invalid featureCompatibilityVersion document (ERROR: "
            f"Location{error.code}: {error.message}). If the current "
            f"featureCompatibilityVersion is below {rel.series.last_lts}, see the "
            f"documentation on upgrading at {rel.upgrade_link()}.")


#: ExitCode::needUpgrade (EXIT_NEED_UPGRADE) of mongod
EXIT_NEED_UPGRADE = 62
#: fassertFailedNoTrace: ExitCode::abrupt
EXIT_ABRUPT = 14


def transition(current_fcv: Fcv, requested: str, rel: Release | None = None) -> Fcv | None:
    """The transitional FCV that setFeatureCompatibilityVersion writes first, or None when
    FCVTransitions does not permit requested from current (a replica set or standalone; not a
    config server)."""
    series = (rel or current()).series
    latest, lts, cont = series.latest, series.last_lts, series.last_continuous
    if not current_fcv.transitioning:
        if requested == latest and current_fcv.version in (lts, cont):
            return Fcv(current_fcv.version, latest)
        if requested == lts and current_fcv.version == latest:
            return Fcv(lts, lts, latest)
        return None
    if current_fcv.previous is not None:  # downgrading from latest to last-LTS
        if requested == lts:
            return current_fcv
        if requested == latest:  # downgrading -> upgrading (FCVTransitions)
            return Fcv(lts, latest)
        return None
    return current_fcv if requested == current_fcv.target else None


def wire_floor(fcv: Fcv | None, rel: Release | None = None) -> int:
    """incomingInternalClient.minWireVersion and outgoing.minWireVersion for an FCV
    (FeatureCompatibilityVersion::updateMinWireVersion); an FCV not yet known behaves as the
    downgraded one."""
    rel = rel or current()
    series = rel.series
    if fcv is None:
        return WIRE[series.last_lts]
    if fcv.version == series.latest or fcv.transitioning:
        return rel.max_wire
    return WIRE[fcv.version]
