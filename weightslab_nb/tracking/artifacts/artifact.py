"""The :class:`Artifact` object: a draft you add files to, then a logged version you read.

``wl.Artifact(name, type)`` is a draft: ``add_file``, ``add_dir``, ``new_file``,
``add_reference`` hash what they add (sha256) at once. ``run.log_artifact(art)`` stores it
(:mod:`weightslab_nb.tracking.artifacts.store`) and turns the same object into a logged version:
``name`` becomes ``"<name>:v<N>"`` (as in wandb), ``version`` ``"v<N>"``, and ``download``,
``verify``, ``logged_by``, ``used_by``, ``delete`` and ``save`` work. A logged version's files
cannot change.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from weightslab_nb.errors import (InvalidTypeError, InvalidValueError, MissingFileError,
                                  StateError, UnknownNameError, WeightslabError)
from weightslab_nb.tracking.artifacts.manifest import (Entry, check_entry_path, check_name,
                                                       hash_file, local_file, manifest_digest,
                                                       read_reference, sha256_file)

HASH_THREADS = min(8, os.cpu_count() or 1)  # hashlib releases the GIL on large buffers


class VerificationError(WeightslabError, ValueError):
    """Downloaded files differ from the artifact's manifest.

    Attributes
    ----------
    problems : list of dict
        One ``{"name", "expected", "actual"}`` per file: ``actual`` None for a missing file,
        ``expected`` None for a file the artifact does not hold.
    """

    def __init__(self, root: Path, problems: list[dict]):
        self.problems = problems
        shown = "; ".join(f"{p['name']}: expected {p['expected'] or 'no such file'}, found "
                          f"{p['actual'] or 'nothing'}" for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"verify: {len(problems)} file(s) under {root} differ from the "
                         f"artifact: {shown}{more}")


class Artifact:
    """A versioned set of files (a data set, a model, an evaluation table...).

    Parameters
    ----------
    name : str
        The collection name: letters, digits, ``_``, ``-``, ``.`` (no ``:`` or ``/``).
    type : str
        ``"dataset"``, ``"model"``, ``"data-state"``...: same characters as ``name``. All
        versions of a name have one type.
    description : str, optional
    metadata : dict, optional
        JSON-able values, stored with the version.

    Raises
    ------
    InvalidValueError
        A bad ``name`` or ``type``, non-JSON ``metadata``.

    Attributes (logged versions)
    ----------------------------
    name : str
        ``"<name>:v<N>"`` once logged, ``"<name>"`` before (wandb's convention);
        :attr:`collection_name` is always ``"<name>"``.
    version : str or None
        ``"v<N>"``; None before logging.
    project, qualified_name ("<project>/<name>:v<N>"), id (same), digest, size, aliases,
    created_at, state ("PENDING" before logging, "COMMITTED" after), manifest.
    """

    def __init__(self, name: str, type: str, description: str | None = None,
                 metadata: dict | None = None):
        self._collection = check_name(name, "name")
        self.type = check_name(type, "type")
        if description is not None and not isinstance(description, str):
            raise InvalidTypeError(f"description: expected a string, got {description!r}")
        self.description = description
        self.metadata = _checked_metadata(metadata)
        self._entries: dict[str, Entry] = {}
        self._staging: tempfile.TemporaryDirectory | None = None
        self._store = None        # the ArtifactStore once logged
        self._record: dict = {}   # the version's stored record once logged
        self._aliases: list[str] = []
        self._downloaded: Path | None = None

    # ---------------------------------------------------------------- identity
    @property
    def collection_name(self) -> str:
        """The name without version (``"digits"``)."""
        return self._collection

    @property
    def name(self) -> str:
        """``"<name>:v<N>"`` once logged, else ``"<name>"``."""
        return self._collection if self.version is None else f"{self._collection}:{self.version}"

    @property
    def version(self) -> str | None:
        """``"v<N>"`` once logged, else None."""
        return None if not self._record else f"v{self._record['version']}"

    @property
    def project(self) -> str | None:
        """The project the version was logged in (None before logging)."""
        return self._record.get("project")

    @property
    def qualified_name(self) -> str | None:
        """``"<project>/<name>:v<N>"`` (what ``Api.artifact`` takes); None before logging."""
        return None if not self._record else f"{self.project}/{self.name}"

    id = qualified_name

    @property
    def state(self) -> str:
        """``"PENDING"`` (a draft) or ``"COMMITTED"`` (logged)."""
        return "COMMITTED" if self._record else "PENDING"

    @property
    def digest(self) -> str:
        """The sha256 of the manifest (entry names and file digests; not the metadata)."""
        return self._record["digest"] if self._record else manifest_digest(self._entries.values())

    @property
    def size(self) -> int:
        """Total bytes of the entries (references of unknown size count 0)."""
        return sum(e.size or 0 for e in self._entries.values())

    @property
    def created_at(self) -> str | None:
        """When the version was logged (ISO time; None before)."""
        return self._record.get("created_at")

    updated_at = created_at

    @property
    def aliases(self) -> list[str]:
        """The version's aliases (``"latest"`` on the newest); assign a list, then :meth:`save`."""
        return self._aliases

    @aliases.setter
    def aliases(self, aliases) -> None:
        if isinstance(aliases, str) or not hasattr(aliases, "__iter__"):
            raise InvalidValueError(f"aliases: expected a list of strings, got {aliases!r}")
        self._aliases = [check_name(a, "aliases") for a in aliases]

    @property
    def manifest(self) -> dict:
        """``{"version": 1, "digest", "entries": {path: {"digest", "size", "ref"}}}``."""
        return {"version": 1, "digest": self.digest,
                "entries": {p: {k: v for k, v in e.to_json().items() if k != "path"}
                            for p, e in sorted(self._entries.items())}}

    # ---------------------------------------------------------------- building a draft
    def add_file(self, local_path, name: str | None = None) -> Entry:
        """Add a file (hashed now; copied into the store when logged).

        Parameters
        ----------
        local_path : str or Path
        name : str, optional
            Its path inside the artifact; default the file's name.

        Raises
        ------
        MissingFileError
            ``local_path`` is not a file.
        InvalidValueError
            ``name`` is not a relative path, or already holds different content.
        StateError
            The artifact was logged.
        """
        self._check_draft("add_file")
        source = local_file(local_path, "local_path")
        path = check_entry_path(name if name is not None else source.name)
        digest, size, stat = hash_file(source)
        return self._add(Entry(path, digest, size, None, str(source.resolve()), stat))

    def add_dir(self, local_path, name: str | None = None) -> list[Entry]:
        """Add every file under a directory (recursively, symbolic links followed), named by
        their path relative to it, under ``name/`` when given. Files are hashed on
        :data:`HASH_THREADS` threads.

        Raises
        ------
        MissingFileError
            ``local_path`` is not a directory.
        InvalidValueError, StateError
            As :meth:`add_file`.
        """
        self._check_draft("add_dir")
        if not isinstance(local_path, (str, os.PathLike)) or not Path(local_path).is_dir():
            raise MissingFileError(f"local_path: no directory {str(local_path)!r}")
        prefix = check_entry_path(name) + "/" if name else ""
        root = Path(local_path)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        names = [check_entry_path(prefix + p.relative_to(root).as_posix()) for p in files]
        with ThreadPoolExecutor(HASH_THREADS) as pool:
            digests = list(pool.map(hash_file, files))
        return [self._add(Entry(n, d, s, None, str(p.resolve()), k))
                for n, p, (d, s, k) in zip(names, files, digests)]

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "w", encoding: str | None = None):
        """Write a new file of the artifact: ``with art.new_file("notes.txt") as f: ...``.

        The file is written to a temporary folder the artifact keeps and added when the block
        ends without an error. ``mode``: ``"w"`` (text, ``encoding`` default utf-8) or ``"wb"``.
        """
        self._check_draft("new_file")
        path = check_entry_path(name)
        if mode not in ("w", "wb", "x", "xb"):
            raise InvalidValueError(f"mode: expected 'w' or 'wb', got {mode!r}")
        if self._staging is None:
            self._staging = tempfile.TemporaryDirectory(prefix="wl-artifact-")
        target = Path(self._staging.name) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        text = "b" not in mode
        with open(target, "w" if text else "wb",
                  encoding=(encoding or "utf-8") if text else None) as f:
            yield f
        self.add_file(target, path)

    def add_reference(self, uri, name: str | None = None, checksum: bool = True) -> list[Entry]:
        """Add a file that stays where it is: a local path (``"/data/x.csv"``, ``file://``
        URIs; a directory adds each file under it) or an fsspec URL (``s3://...``,
        ``memory://...``; needs fsspec). It is checksummed when it can be read (and
        ``checksum`` is True); ``download`` copies it, ``verify`` checks it when it was.

        Returns
        -------
        list of Entry
            The entries added (one per file).

        Raises
        ------
        MissingFileError
            A local path that does not exist.
        InvalidValueError
            A URL fsspec cannot open, a bad ``name``.
        """
        self._check_draft("add_reference")
        if not isinstance(uri, (str, os.PathLike)):
            raise InvalidValueError(f"uri: expected a path or URL string, got {uri!r}")
        text = os.fspath(uri)
        if "://" not in text or text.startswith("file://"):
            local = Path(text[len("file://"):] if text.startswith("file://") else text)
            if local.is_dir():
                prefix = check_entry_path(name) + "/" if name else ""
                files = sorted(p for p in local.rglob("*") if p.is_file())
                return [self._local_reference(p, prefix + p.relative_to(local).as_posix(),
                                              checksum) for p in files]
            if not local.is_file():
                raise MissingFileError(f"uri: no file or directory {text!r}")
            return [self._local_reference(local, name or local.name, checksum)]
        digest, size = read_reference(text, checksum)
        default = text.rstrip("/").rsplit("/", 1)[-1]
        return [self._add(Entry(check_entry_path(name or default), digest, size, text))]

    def _local_reference(self, path: Path, name: str, checksum: bool) -> Entry:
        digest, size = sha256_file(path) if checksum else (None, path.stat().st_size)
        uri = path.resolve().as_uri()
        return self._add(Entry(check_entry_path(name), digest, size, uri, str(path.resolve())))

    def _add(self, entry: Entry) -> Entry:
        known = self._entries.get(entry.path)
        if known is not None and (known.digest, known.ref) != (entry.digest, entry.ref):
            raise InvalidValueError(f"name: the artifact already holds a different "
                                    f"{entry.path!r}")
        self._entries[entry.path] = entry
        return entry

    def _check_draft(self, what: str) -> None:
        if self._record:
            raise StateError(f"{what}: artifact {self.qualified_name} is logged; its files "
                             f"cannot change (make a new wl.Artifact({self._collection!r}, "
                             f"{self.type!r}) and log it as the next version)")

    # ---------------------------------------------------------------- reading
    def files(self, names=None, per_page: int = 50) -> list[Entry]:
        """The entries, sorted by path (only those named in ``names``, when given)."""
        if isinstance(names, str):
            raise InvalidTypeError(f"names: expected a list of entry names, got {names!r}")
        wanted = None if names is None else set(names)
        return [e for p, e in sorted(self._entries.items()) if wanted is None or p in wanted]

    def get_entry(self, name: str) -> Entry:
        """The entry at ``name``.

        Raises
        ------
        UnknownNameError
            No such entry (the message lists some that exist).
        """
        entry = self._entries.get(name)
        if entry is None:
            known = sorted(self._entries)
            raise UnknownNameError(f"name: artifact {self.name} has no entry {name!r}; it has "
                                   f"{known[:20]}{' ...' if len(known) > 20 else ''}")
        return entry

    get_path = get_entry

    def download(self, root=None) -> str:
        """Materialise the files under ``root`` and return that directory (as a string).

        Stored files are hard-linked from the store where the filesystem allows (else
        copied): they are read-only, do not edit them in place. References are copied from
        where they are (local paths, fsspec URLs). Existing files of the same names are
        replaced; other files under ``root`` are left alone.

        Parameters
        ----------
        root : str or Path, optional
            Default ``./artifacts/<name>:v<N>/`` (as wandb).

        Raises
        ------
        StateError
            The artifact is not logged.
        MissingFileError
            A stored object or a referenced file is gone.
        """
        self._check_logged("download")
        target = self._root(root)
        target.mkdir(parents=True, exist_ok=True)
        for entry in self._entries.values():
            self._store.materialise(entry, target / entry.path)
        self._downloaded = target
        return str(target)

    def file(self, root=None) -> str:
        """Download a one-file artifact and return the file's path.

        Raises
        ------
        StateError
            Not logged, or the artifact holds more (or fewer) than one file.
        """
        if len(self._entries) != 1:
            raise StateError(f"file: artifact {self.name} holds {len(self._entries)} files; "
                             "use download()")
        return str(Path(self.download(root)) / next(iter(self._entries)))

    def verify(self, root=None) -> None:
        """Check the downloaded files against the manifest (sha256 of each).

        Every entry with a digest is checked, references included (a referenced file that
        changed since logging is reported); a file under ``root`` that the artifact does not
        hold is reported too (as wandb does).

        Parameters
        ----------
        root : str or Path, optional
            Default: where :meth:`download` last put the files, else its default directory.

        Raises
        ------
        VerificationError (a ValueError)
            Naming each differing file with its expected and actual digest.
        MissingFileError
            ``root`` does not exist (download first).
        """
        self._check_logged("verify")
        where = Path(root) if root is not None else (self._downloaded or self._root(None))
        if not where.is_dir():
            raise MissingFileError(f"root: {str(where)!r} does not exist; call download() first")
        problems = []
        for path, entry in sorted(self._entries.items()):
            file = where / path
            if entry.digest is None:
                continue
            actual = sha256_file(file)[0] if file.is_file() else None
            if actual != entry.digest:
                problems.append({"name": path, "expected": entry.digest, "actual": actual})
        for file in sorted(where.rglob("*")):
            name = file.relative_to(where).as_posix()
            if file.is_file() and name not in self._entries:
                problems.append({"name": name, "expected": None, "actual": sha256_file(file)[0]})
        if problems:
            raise VerificationError(where, problems)

    def _root(self, root) -> Path:
        if root is None:
            return Path.cwd() / "artifacts" / self.name
        if not isinstance(root, (str, os.PathLike)):
            raise InvalidTypeError(f"root: expected a directory path, got {root!r}")
        return Path(root)

    # ---------------------------------------------------------------- lineage and changes
    def logged_by(self):
        """The run that logged this version first (an ``ApiRun``), or None when it was logged
        without a run (``wl.log_artifact`` before ``wl.init``) or that run's folder is gone."""
        self._check_logged("logged_by")
        run = self._record.get("logged_by")
        return None if run is None else _read_run(self._store.run_dir(run))

    def used_by(self) -> list:
        """The runs that used this version (``ApiRun`` objects, in the order they first did;
        runs whose folder is gone are left out)."""
        self._check_logged("used_by")
        dirs = self._store.run_dirs_of(self.project, self._collection,
                                       self._record["version"], "used")
        found = (_read_run(d) for d in dirs)
        return [run for run in found if run is not None]

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version and the stored files no other version holds.

        Raises
        ------
        StateError
            The version has aliases (``"latest"`` included) and ``delete_aliases`` is False:
            move or remove them first (``art.aliases = []; art.save()``), or log a newer
            version so that ``latest`` moves.
        """
        self._check_logged("delete")
        self._store.delete(self.project, self._collection, self._record["version"],
                           delete_aliases)

    def save(self) -> None:
        """Store changes made to :attr:`aliases`, :attr:`description` and :attr:`metadata` of
        a logged version (an alias moves here from the version that had it; ``"latest"``
        stays on the newest version whatever the list says).

        Raises
        ------
        StateError
            The artifact is not logged (log it with ``run.log_artifact``).
        """
        self._check_logged("save")
        self.metadata = _checked_metadata(self.metadata)
        self._store.update(self, self._aliases)

    def _check_logged(self, what: str) -> None:
        if not self._record:
            raise StateError(f"{what}: artifact {self._collection!r} is not logged yet; call "
                             "run.log_artifact(artifact) (or wl.log_artifact) first")

    def _attach(self, store, record: dict, aliases: list[str]) -> None:
        """Become the logged version ``record`` of ``store`` (called by the store)."""
        self._store, self._record = store, record
        self.type = record["type"]
        self.description, self.metadata = record.get("description"), record.get("metadata", {})
        self._entries = {e["path"]: Entry(**e, local_path=store.local_path(e))
                         for e in record["entries"]}
        self._aliases = list(aliases)
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None

    def __repr__(self) -> str:
        where = self.qualified_name or f"{self._collection} (not logged)"
        return f"<Artifact {where} type={self.type} files={len(self._entries)}>"


def from_record(store, record: dict, aliases: list[str]) -> Artifact:
    """The logged version ``record`` of ``store`` as an :class:`Artifact`."""
    artifact = Artifact.__new__(Artifact)
    artifact._collection = record["name"]
    artifact._staging, artifact._downloaded = None, None
    artifact._attach(store, record, aliases)
    return artifact


def _checked_metadata(metadata) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidTypeError(f"metadata: expected a dict, got {type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(f"metadata: values must be JSON-able ({exc})") from None
    return dict(metadata)


def _read_run(run_dir: Path):
    """The run at ``run_dir`` as an ``ApiRun``, None when its folder is gone.

    ``ApiRun`` lives in :mod:`weightslab_nb.tracking.api`, which imports this package to list
    a run's artifacts: it is looked up when called, not imported here (the same lazy lookup
    ``weightslab_nb.tracking`` uses for its names)."""
    if not (run_dir / "run.json").is_file():
        return None
    return importlib.import_module("weightslab_nb.tracking.api").ApiRun(run_dir)


__all__ = ["Artifact", "Entry", "VerificationError", "from_record"]
