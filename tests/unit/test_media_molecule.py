"""Molecule: molecule files of each format (paths or file objects) kept byte for byte, checked
lightly, stored under media/molecule/ and rebuilt by from_json; from_rdkit and from_smiles
through the optional extra weightslab-nb[chem]."""

from __future__ import annotations

import io
import sys

import pytest

import weightslab_nb as wl
from tests.media_logging import log_and_read_back
from weightslab_nb.errors import MissingExtraError
from weightslab_nb.tracking.media import MOLECULE_FORMATS, Molecule

# tiny valid files: one water molecule in each format
WATER = {
    "pdb": "HETATM    1  O   HOH A   1       0.000   0.000   0.000  1.00  0.00           O\n"
           "HETATM    2  H1  HOH A   1       0.957   0.000   0.000  1.00  0.00           H\n"
           "HETATM    3  H2  HOH A   1      -0.240   0.927   0.000  1.00  0.00           H\n"
           "CONECT    1    2    3\nEND\n",
    "sdf": "water\n  hand-written\n\n"
           "  3  2  0  0  0  0  0  0  0  0999 V2000\n"
           "    0.0000    0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
           "    0.9572    0.0000    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
           "   -0.2400    0.9266    0.0000 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
           "  1  2  1  0\n  1  3  1  0\nM  END\n$$$$\n",
    "mol2": "@<TRIPOS>MOLECULE\nwater\n 3 2 0 0 0\nSMALL\nNO_CHARGES\n\n@<TRIPOS>ATOM\n"
            "      1 O      0.0000    0.0000    0.0000 O.3     1  HOH1  0.0000\n"
            "      2 H1     0.9572    0.0000    0.0000 H       1  HOH1  0.0000\n"
            "      3 H2    -0.2400    0.9266    0.0000 H       1  HOH1  0.0000\n"
            "@<TRIPOS>BOND\n     1     1     2    1\n     2     1     3    1\n",
    "xyz": "3\nwater\nO 0.0000 0.0000 0.0000\nH 0.9572 0.0000 0.0000\nH -0.2400 0.9266 0.0000\n",
    "cif": "data_HOH\nloop_\n_atom_site.group_PDB\n_atom_site.id\n_atom_site.type_symbol\n"
           "_atom_site.Cartn_x\n_atom_site.Cartn_y\n_atom_site.Cartn_z\n"
           "HETATM 1 O 0.000 0.000 0.000\nHETATM 2 H 0.957 0.000 0.000\n"
           "HETATM 3 H -0.240 0.927 0.000\n",
    "gro": "water\n3\n    1SOL     OW    1   0.000   0.000   0.000\n"
           "    1SOL    HW1    2   0.096   0.000   0.000\n"
           "    1SOL    HW2    3  -0.024   0.093   0.000\n   1.00000   1.00000   1.00000\n",
}


def rdkit_reads(file_type: str, text: str):
    """The molecule RDKit reads from ``text`` (the test files are real ones), or None."""
    Chem = pytest.importorskip("rdkit.Chem", reason="the chem extra is not installed")
    readers = {"pdb": Chem.MolFromPDBBlock, "sdf": Chem.MolFromMolBlock,
               "mol2": Chem.MolFromMol2Block, "xyz": Chem.MolFromXYZBlock}
    return readers[file_type](text, removeHs=False) if file_type != "xyz" else \
        readers[file_type](text)


@pytest.mark.parametrize("file_type", sorted(WATER))
def test_files_of_each_format_are_kept_byte_for_byte(file_type, tmp_path):
    path = tmp_path / f"water.{file_type}"
    path.write_text(WATER[file_type])
    molecule = Molecule(path, caption="water")
    assert (molecule.format, molecule.caption) == (file_type, "water")
    descriptor = molecule.to_json(tmp_path, "mol", 2)
    assert descriptor["_type"] == "molecule-file" and descriptor["format"] == file_type
    assert descriptor["path"].startswith("media/molecule/mol_2_")
    assert descriptor["path"].endswith(f".{file_type}")
    assert (tmp_path / descriptor["path"]).read_text() == WATER[file_type]
    assert Molecule.from_json(descriptor, tmp_path) == molecule
    if file_type in ("pdb", "sdf", "mol2", "xyz"):
        assert rdkit_reads(file_type, WATER[file_type]).GetNumAtoms() == 3


def test_file_objects_need_their_file_type():
    text = Molecule(io.StringIO(WATER["pdb"]), file_type="pdb")
    raw = Molecule(io.BytesIO(WATER["pdb"].encode()), file_type=".PDB")
    assert text == raw and raw.format == "pdb"
    with pytest.raises(ValueError, match="file_type: required"):
        Molecule(io.StringIO(WATER["pdb"]))


@pytest.mark.parametrize("make, error, words", [
    (lambda p: Molecule(p / "water.png"), ValueError, "data_or_path: expected one of pdb"),
    (lambda p: Molecule(p / "missing.pdb"), FileNotFoundError, "no such file"),
    (lambda p: Molecule(3), TypeError, "data_or_path: expected a path or a file object"),
    (lambda p: Molecule(io.StringIO("x"), file_type="png"), ValueError, "file_type"),
    (lambda p: Molecule(io.StringIO(""), file_type="pdb"), ValueError, "empty"),
    (lambda p: Molecule(io.StringIO("REMARK only\n"), file_type="pdb"), ValueError,
     "not a pdb file .no ATOM or HETATM"),
    (lambda p: Molecule(io.StringIO("water\n"), file_type="sdf"), ValueError, "not a sdf"),
    (lambda p: Molecule(io.StringIO("water\n"), file_type="mol2"), ValueError, "TRIPOS"),
    (lambda p: Molecule(io.StringIO("3\nwater\nO 0 0 0\n"), file_type="xyz"), ValueError,
     "not an xyz file"),
    (lambda p: Molecule(io.StringIO("water\nthree\n"), file_type="gro"), ValueError, "gro"),
    (lambda p: Molecule(io.BytesIO(b"\xff\xfe"), file_type="cif"), ValueError, "UTF-8"),
    (lambda p: Molecule(io.StringIO(WATER["pdb"]), file_type="pdb", caption=[1]), TypeError,
     "caption"),
])
def test_bad_molecules_are_rejected_naming_the_argument(make, error, words, tmp_path):
    (tmp_path / "water.png").write_text(WATER["pdb"])
    with pytest.raises(error, match=words):
        make(tmp_path)


def test_a_molecule_is_read_back_by_the_api(session):
    molecule = Molecule(io.StringIO(WATER["sdf"]), caption="water", file_type="sdf")
    run_dir, descriptor, back = log_and_read_back(session, "chem/water", molecule)
    assert back == molecule and (back.format, back.caption) == ("sdf", "water")
    assert Molecule.from_json(descriptor, run_dir) == molecule


def test_equality_follows_the_bytes_the_format_and_the_caption():
    pdb = Molecule(io.StringIO(WATER["pdb"]), file_type="pdb")
    assert pdb == Molecule(io.StringIO(WATER["pdb"]), file_type="pdb")
    assert pdb != Molecule(io.StringIO(WATER["pdb"]), file_type="pqr")
    assert pdb != Molecule(io.StringIO(WATER["pdb"]), file_type="pdb", caption="w")


def test_from_smiles_embeds_3d_coordinates_reproducibly():
    pytest.importorskip("rdkit", reason="the chem extra is not installed")
    ethanol = Molecule.from_smiles("CCO", caption="ethanol")
    assert ethanol.format == "pdb" and ethanol.caption == "ethanol"
    atoms = [line for line in ethanol._payload.decode().splitlines()
             if line.startswith("HETATM")]
    assert len(atoms) == 9  # 2 C, 1 O and 6 H added for the 3-D structure
    assert ethanol == Molecule.from_smiles("CCO", caption="ethanol")
    flat = Molecule.from_smiles("CCO", convert_to_3d_and_optimize=False)
    assert flat.format == "pdb" and flat != ethanol


def test_from_rdkit_takes_a_mol_and_checks_its_arguments():
    Chem = pytest.importorskip("rdkit.Chem", reason="the chem extra is not installed")
    benzene = Molecule.from_rdkit(Chem.MolFromSmiles("c1ccccc1"))
    assert benzene.format == "pdb" and b"HETATM" in benzene._payload
    with pytest.raises(TypeError, match="mol: expected an rdkit.Chem.Mol"):
        Molecule.from_rdkit("c1ccccc1")
    with pytest.raises(ValueError, match="smiles: RDKit cannot parse 'C1CC'"):
        Molecule.from_smiles("C1CC")
    with pytest.raises(TypeError, match="smiles: expected a str"):
        Molecule.from_smiles(None)


def test_without_rdkit_the_error_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "rdkit" or m.startswith("rdkit.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "rdkit", None)
    with pytest.raises(MissingExtraError, match=r"weightslab-nb\[chem\]") as caught:
        Molecule.from_smiles("CCO")
    assert isinstance(caught.value, ImportError)


def test_the_formats_and_the_package_export():
    assert {"pdb", "sdf", "mol2", "xyz", "cif", "gro", "pqr", "mmtf"} <= set(MOLECULE_FORMATS)
    assert wl.Molecule is Molecule


@pytest.mark.parametrize("file_type", sorted(WATER))
def test_the_descriptor_has_the_atom_count_and_formula_when_the_file_states_them(file_type,
                                                                                  tmp_path):
    descriptor = Molecule(io.StringIO(WATER[file_type]), file_type=file_type).to_json(
        tmp_path, "mol", 0)
    expected = {"cif": (None, None), "gro": (3, None)}.get(file_type, (3, "H2O"))
    assert (descriptor.get("atoms"), descriptor.get("formula")) == expected
    back = Molecule.from_json(descriptor, tmp_path)
    assert back._fields() == {k: descriptor[k] for k in back._fields()}


def test_the_formula_is_in_hill_order():
    from weightslab_nb.tracking.media._molecule_facts import hill_formula

    assert hill_formula(["O", "C", "H", "H", "Cl", "N", "C", "H", "H"]) == "C2H4ClNO"
    assert hill_formula(["O", "H", "H"]) == "H2O"
    assert hill_formula(["Na", "Cl"]) == "ClNa"
