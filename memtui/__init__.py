"""memtui: administer a simulated VMware ESX host's memory."""

__version__ = "0.1.0"
