"""The lab's written inventory loads for every fleet shape, including the numbered benchmark sites, and loads back
to the very Inventory the lab builds (the file is that Inventory written by inventory.dump)."""

import stat

from edgeops.cli.lab import LAB_INVENTORY_HEADER, write_lab_inventory
from edgeops.inventory import load_inventory
from edgeops.inventory.dump import dump_inventory
from edgeops.lab.runner import Lab
from edgeops.lab.topology import build_fleet, synthetic_sites


def test_inventory_of_synthetic_sites_loads(tmp_path):
    identities = build_fleet(synthetic_sites(20), devices_per_site=2)
    lab = Lab(identities, lab_dir=tmp_path / "lab")
    path = write_lab_inventory(lab, tmp_path / "inventory.yaml")
    inventory = load_inventory(path)
    assert len(inventory.sites) == 20
    assert len(inventory.devices) == 40
    assert inventory.site("edge20").name == "Edge-20"
    assert inventory.without_provenance() == lab.inventory()


def test_the_lab_file_is_private_and_holds_the_literal_password_only_there(tmp_path):
    lab = Lab(build_fleet(synthetic_sites(2), devices_per_site=2), lab_dir=tmp_path / "lab")
    path = write_lab_inventory(lab, tmp_path / "inventory.yaml")
    text = path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert text.startswith(LAB_INVENTORY_HEADER)
    password = lab.identities[0].password
    assert f"literal:{password}" in text
    # Without the explicit option, dump still never copies a literal secret into a new file.
    exported = dump_inventory(lab.inventory())
    assert password not in exported and "password: prompt" in exported
