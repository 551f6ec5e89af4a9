"""The HTTP session a worker thread shares between MSAL and the Graph client: one pool of
connections per thread (requests.Session is not thread-safe), kept alive across runs."""

import threading

import requests

_sessions = threading.local()


def shared_session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session
