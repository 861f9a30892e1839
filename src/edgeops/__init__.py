"""edgeops: a terminal operations console for Nokia SR Linux and SR OS fleets."""

__version__ = "0.1.0"
