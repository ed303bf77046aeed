"""Finding artifacts for ``wl.Api``: names, types, collections and versions across the stores
of the Api's roots (each root, and its sub-directories two levels deep, as for runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from weightslab_nb.errors import InvalidValueError, UnknownNameError
from weightslab_nb.tracking.artifacts.artifact import Artifact
from weightslab_nb.tracking.artifacts.manifest import check_name, check_project
from weightslab_nb.tracking.artifacts.store import STORE_DIR, ArtifactStore


class ArtifactVersions(list):
    """Versions of one artifact name: a list of :class:`Artifact`, oldest (``v0``) first, with
    wandb's ``length``."""

    @property
    def length(self) -> int:
        """How many versions (``len``)."""
        return len(self)


class RunArtifacts(ArtifactVersions):
    """The artifacts a run logged or used: a list of :class:`Artifact`, in the order it did."""


@dataclass(frozen=True)
class ArtifactCollection:
    """All versions of one artifact name in a project.

    Attributes
    ----------
    name, type, project : str
    id : str
        ``"<project>/<name>"``.
    """

    name: str
    type: str
    project: str
    stores: tuple = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.project}/{self.name}"

    def versions(self, per_page: int = 50) -> ArtifactVersions:
        """The versions, oldest first (``per_page`` is accepted for compatibility)."""
        return ArtifactVersions(v for s in self.stores for v in s.versions(self.project,
                                                                            self.name))

    @property
    def aliases(self) -> list[str]:
        """Every alias some version of this collection holds."""
        return sorted({a for v in self.versions() for a in v.aliases})


@dataclass(frozen=True)
class ArtifactType:
    """An artifact type of a project (``"dataset"``, ``"model"``...).

    Attributes
    ----------
    name, project : str
    id : str
        ``"<project>/<type>"``.
    """

    name: str
    project: str
    stores: tuple = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.project}/{self.name}"

    def collections(self, per_page: int = 50) -> list[ArtifactCollection]:
        """The artifact names of this type, sorted."""
        return collections_of(self.stores, self.project, self.name)

    def collection(self, name: str) -> ArtifactCollection:
        """One artifact name of this type.

        Raises
        ------
        UnknownNameError
            No artifact of that name and type in the project.
        """
        for collection in self.collections():
            if collection.name == name:
                return collection
        known = [c.name for c in self.collections()]
        raise UnknownNameError(f"name: project {self.project!r} has no {self.name!r} artifact "
                               f"{name!r}; it has {known}")


def stores_under(roots) -> list[ArtifactStore]:
    """The artifact stores of ``roots``: ``<root>/artifacts`` and the same one and two
    directories down."""
    found: dict[Path, ArtifactStore] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for pattern in (STORE_DIR, f"*/{STORE_DIR}", f"*/*/{STORE_DIR}"):
            for folder in sorted(root.glob(pattern)):
                if folder.is_dir() and folder.resolve() not in found:
                    found[folder.resolve()] = ArtifactStore(folder.parent)
    return list(found.values())


def parse_name(path, argument: str = "name") -> tuple[str | None, str, str]:
    """``"[entity/][project/]name[:version|alias|digest]"`` as ``(project, name, spec)``;
    ``spec`` defaults to ``"latest"``, ``project`` to None.

    Raises
    ------
    InvalidValueError
        Not of that form, naming ``argument``.
    """
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidValueError(f"{argument}: expected 'name:version' or "
                                f"'project/name:alias', got {path!r}")
    head, _, spec = path.strip("/").partition(":")
    parts = head.split("/")
    if len(parts) > 3 or (":" in spec) or (_ and not spec):
        raise InvalidValueError(f"{argument}: expected '[project/]name[:version or alias]', "
                                f"got {path!r}")
    name = check_name(parts[-1], argument)
    project = check_project(parts[-2], argument) if len(parts) >= 2 else None
    return project, name, check_name(spec, argument) if spec else "latest"


def find(stores, path: str, type: str | None = None, project: str | None = None) -> Artifact:
    """The version ``path`` names (see :func:`parse_name`); without a project in ``path``,
    ``project`` is used, else the one project that has that name.

    Raises
    ------
    UnknownNameError
        No such artifact or version.
    InvalidValueError
        A malformed path, a bare name found in several projects, or a ``type`` that differs
        from the artifact's.
    """
    wanted, name, spec = parse_name(path)
    wanted = wanted or project
    homes = [(s, c["project"]) for s in stores for c in s.collections(wanted)
             if c["name"] == name]
    if not homes:
        where = f"project {wanted!r}" if wanted else "any project"
        raise UnknownNameError(f"name: no artifact {name!r} in {where} under "
                               f"{[str(s.dir) for s in stores]}")
    if len(homes) > 1:
        raise InvalidValueError(f"name: artifact {name!r} exists in several places "
                                f"({[f'{s.dir}:{p}' for s, p in homes]}); give "
                                "'project/name:version'")
    store, home = homes[0]
    artifact = store.get(home, name, spec)
    if type is not None and artifact.type != type:
        raise InvalidValueError(f"type: {artifact.qualified_name} is of type "
                                f"{artifact.type!r}, not {type!r}")
    return artifact


def types_of(stores, project: str | None) -> list[ArtifactType]:
    """Artifact types of ``project`` (every project when None), sorted by project and name."""
    pairs = sorted({(c["project"], c["type"]) for s in stores for c in s.collections(project)})
    return [ArtifactType(t, p, tuple(stores)) for p, t in pairs]


def collections_of(stores, project: str | None, type_name: str) -> list[ArtifactCollection]:
    """Artifact names of type ``type_name`` in ``project`` (every project when None)."""
    found = sorted({(c["project"], c["name"]) for s in stores for c in s.collections(project)
                    if c["type"] == type_name})
    return [ArtifactCollection(n, type_name, p, tuple(stores)) for p, n in found]
