""":class:`Molecule`: a molecule file (pdb, sdf, mol2, xyz...) kept byte for byte under
``media/molecule/``; built from RDKit molecules or SMILES with the optional extra
``weightslab-nb[chem]`` (RDKit is imported only by those two class methods)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError, MissingExtraError
from weightslab_nb.tracking.media._checks import _check_caption, _check_int
from weightslab_nb.tracking.media._files import _read_source
from weightslab_nb.tracking.media._molecule_facts import molecule_facts
from weightslab_nb.tracking.media.base import BatchableMedia

MOLECULE_FORMATS = ("pdb", "pqr", "mmcif", "mcif", "cif", "sdf", "sd", "mol", "gro", "mol2",
                    "mmtf", "xyz")
CHEM_EXTRA = "pip install 'weightslab-nb[chem]'"
_TEXT_SIGNS = {  # format -> (pattern a valid file contains, what it means)
    "pdb": (r"^(ATOM  |HETATM)", "ATOM or HETATM records"),
    "pqr": (r"^(ATOM  |HETATM)", "ATOM or HETATM records"),
    "cif": (r"^data_", "a data_ block"), "mmcif": (r"^data_", "a data_ block"),
    "mcif": (r"^data_", "a data_ block"),
    "sdf": (r"^M  END|V[23]000", "a V2000/V3000 molfile block ending in 'M  END'"),
    "sd": (r"^M  END|V[23]000", "a V2000/V3000 molfile block ending in 'M  END'"),
    "mol": (r"^M  END|V[23]000", "a V2000/V3000 molfile block ending in 'M  END'"),
    "mol2": (r"^@<TRIPOS>MOLECULE", "a @<TRIPOS>MOLECULE record"),
}


def _check_format(file_type, argument: str) -> str:
    if not isinstance(file_type, str) or file_type.lower().lstrip(".") not in MOLECULE_FORMATS:
        raise InvalidValueError(f"{argument}: expected one of {', '.join(MOLECULE_FORMATS)}, "
                                f"got {file_type!r}")
    return file_type.lower().lstrip(".")


def _check_xyz(text: str) -> None:
    lines = text.splitlines()
    count = lines[0].strip() if lines else ""
    if not count.isdigit() or int(count) < 1 or len(lines) < int(count) + 2:
        raise InvalidValueError("data_or_path: not an xyz file (expected an atom count on the "
                                "first line, a comment line, then one line per atom)")


def _check_content(payload: bytes, file_type: str) -> None:
    """A light check that ``payload`` looks like a ``file_type`` file (text formats)."""
    if not payload.strip():
        raise InvalidValueError("data_or_path: the molecule file is empty")
    if file_type == "mmtf":
        return
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValueError(f"data_or_path: a {file_type} file must be text (UTF-8)") from None
    if file_type == "xyz":
        _check_xyz(text)
    elif file_type == "gro":
        lines = text.splitlines()
        if len(lines) < 3 or not lines[1].strip().isdigit():
            raise InvalidValueError("data_or_path: not a gro file (expected a title line, the "
                                    "atom count, the atoms and the box)")
    elif file_type in _TEXT_SIGNS:
        pattern, meaning = _TEXT_SIGNS[file_type]
        if not re.search(pattern, text, re.MULTILINE):
            raise InvalidValueError(f"data_or_path: not a {file_type} file (no {meaning} found)")


def _import_rdkit():
    try:
        from rdkit import Chem
        from rdkit.Chem import AllChem
    except ImportError:
        raise MissingExtraError(f"Molecule.from_rdkit and from_smiles need RDKit: {CHEM_EXTRA} "
                                "(or pip install rdkit)") from None
    return Chem, AllChem


class Molecule(BatchableMedia):
    """A molecule, saved as its file (a 3-D structure viewers can load).

    Parameters
    ----------
    data_or_path : str, os.PathLike or file object
        The path of a file whose extension is one of ``MOLECULE_FORMATS`` (pdb, pqr, cif,
        mmcif, mcif, sdf, sd, mol, gro, mol2, mmtf, xyz), or an object with ``read()`` (text
        or bytes) together with ``file_type``. The bytes are kept as they are, after a light
        check of the format (e.g. ATOM/HETATM records in a pdb file).
    caption : str, optional
    file_type : str, optional
        The format of a file object (required then), or of a path whose extension differs.

    Attributes
    ----------
    format : str
    caption : str or None

    Its descriptor also holds ``"atoms"`` (the atom count) and ``"formula"`` (Hill order,
    e.g. ``"C8H10N4O2"``) when the file states them plainly (pdb, pqr, sdf, mol, mol2, xyz;
    the count only for gro), read without RDKit.

    Raises
    ------
    TypeError
        ``data_or_path`` or ``caption`` of the wrong type.
    ValueError
        An unknown format, a missing ``file_type`` for a file object, or content that does
        not look like its format (the message says what was expected).
    FileNotFoundError
        The path does not exist.
    """

    _type = "molecule-file"
    _kind_dir = "molecule"

    def __init__(self, data_or_path, caption=None, file_type=None):
        if isinstance(data_or_path, (str, os.PathLike)):
            path = Path(data_or_path)
            self.format = _check_format(file_type if file_type is not None else path.suffix,
                                        "file_type" if file_type is not None else "data_or_path")
            payload = _read_source(path, "data_or_path")
        elif hasattr(data_or_path, "read"):
            if file_type is None:
                raise InvalidValueError("file_type: required when data_or_path is a file object "
                                        f"(one of {', '.join(MOLECULE_FORMATS)})")
            self.format = _check_format(file_type, "file_type")
            content = data_or_path.read()
            payload = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        else:
            raise InvalidTypeError(f"data_or_path: expected a path or a file object, got "
                                   f"{type(data_or_path).__name__}")
        _check_content(payload, self.format)
        self._payload, self._ext = payload, self.format
        self.caption = _check_caption(caption)

    @classmethod
    def from_rdkit(cls, mol, caption=None, convert_to_3d_and_optimize: bool = True,
                   mmff_optimize_molecule_max_iterations: int = 200) -> "Molecule":
        """A molecule from an RDKit ``Mol``, saved as a pdb file (as wandb does).

        Parameters
        ----------
        mol : rdkit.Chem.Mol
        caption : str, optional
        convert_to_3d_and_optimize : bool, default True
            Add hydrogens, embed 3-D coordinates (random seed 0, so the same molecule gives
            the same file) and optimise them with the MMFF force field.
        mmff_optimize_molecule_max_iterations : int, default 200

        Raises
        ------
        weightslab_nb.errors.MissingExtraError
            RDKit is not installed (``weightslab-nb[chem]``).
        TypeError
            ``mol`` is not an RDKit molecule.
        ValueError
            3-D coordinates cannot be embedded for it.
        """
        Chem, AllChem = _import_rdkit()
        if not isinstance(mol, Chem.Mol):
            raise InvalidTypeError(f"mol: expected an rdkit.Chem.Mol, got {type(mol).__name__}")
        iterations = _check_int(mmff_optimize_molecule_max_iterations,
                                "mmff_optimize_molecule_max_iterations")
        if convert_to_3d_and_optimize:
            mol = Chem.AddHs(mol)
            if AllChem.EmbedMolecule(mol, randomSeed=0) != 0:
                raise InvalidValueError("mol: RDKit could not embed 3-D coordinates for this "
                                        "molecule; pass convert_to_3d_and_optimize=False")
            AllChem.MMFFOptimizeMolecule(mol, maxIters=iterations)
        import io

        return cls(io.StringIO(Chem.MolToPDBBlock(mol)), caption=caption, file_type="pdb")

    @classmethod
    def from_smiles(cls, smiles: str, caption=None, sanitize: bool = True,
                    convert_to_3d_and_optimize: bool = True,
                    mmff_optimize_molecule_max_iterations: int = 200) -> "Molecule":
        """A molecule from a SMILES string, through RDKit (see :meth:`from_rdkit`).

        Raises
        ------
        weightslab_nb.errors.MissingExtraError
            RDKit is not installed (``weightslab-nb[chem]``).
        TypeError
            ``smiles`` is not a string.
        ValueError
            RDKit cannot parse ``smiles``.
        """
        Chem, _ = _import_rdkit()
        if not isinstance(smiles, str):
            raise InvalidTypeError(f"smiles: expected a str, got {type(smiles).__name__}")
        from rdkit import RDLogger

        RDLogger.DisableLog("rdApp.error")  # the error below says it instead of stderr
        try:
            mol = Chem.MolFromSmiles(smiles, sanitize=sanitize)
        finally:
            RDLogger.EnableLog("rdApp.error")
        if mol is None:
            raise InvalidValueError(f"smiles: RDKit cannot parse {smiles!r} as SMILES")
        return cls.from_rdkit(mol, caption=caption,
                              convert_to_3d_and_optimize=convert_to_3d_and_optimize,
                              mmff_optimize_molecule_max_iterations=
                              mmff_optimize_molecule_max_iterations)

    def _fields(self) -> dict:
        # atoms and formula when the file states them plainly (read without RDKit, once)
        facts = self.__dict__.get("_facts")
        if facts is None:
            facts = self._facts = molecule_facts(self._payload, self.format)
        return {"format": self.format, "caption": self.caption, **facts}

    def __repr__(self) -> str:
        return f"<Molecule {self.format} {len(self._payload)} bytes caption={self.caption!r}>"
