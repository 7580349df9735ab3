"""``bt.brokers``: the simulated broker."""
from .broker import BackBroker, BrokerBack, BrokerBase

__all__ = ["BackBroker", "BrokerBack", "BrokerBase"]
