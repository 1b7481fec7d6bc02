"""Personal data: forgetting a customer everywhere (the audit log is :mod:`gcrm.access`)."""

from gcrm.privacy.forget import Forgotten, forget_customer

__all__ = ["Forgotten", "forget_customer"]
