"""The lab's written inventory loads for every fleet shape, including the numbered benchmark sites."""

from edgeops.inventory import load_inventory
from edgeops.lab.runner import Lab
from edgeops.lab.topology import build_fleet, synthetic_sites


def test_inventory_of_synthetic_sites_loads(tmp_path):
    identities = build_fleet(synthetic_sites(20), devices_per_site=2)
    lab = Lab(identities, lab_dir=tmp_path / "lab")
    path = lab.write_inventory(tmp_path / "inventory.yaml")
    inventory = load_inventory(path)
    assert len(inventory.sites) == 20
    assert len(inventory.devices) == 40
    assert inventory.site("edge20").name == "Edge-20"
