"""The device lab: simulated SR Linux and SR OS devices over real SSH and gNMI, with fault injection."""
