"""The inventory: sites, devices and jump hosts, loaded and validated from YAML and other formats."""
