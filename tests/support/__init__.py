"""Helpers the tests share: real services on free loopback ports, a Celery app and worker,
the Centrifugo double, data builders. Not tests themselves."""
