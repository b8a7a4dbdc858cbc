"""Run the dispatcher: as `flask sms worker`, or as a thread inside the web process
(EMBEDDED_WORKER)."""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from webapp.database import make_sessionmaker
from webapp.sms import settings as sms_settings
from webapp.sms.dispatcher import Dispatcher, settings_from_config, supervise
from webapp.sms.providers.factory import make_provider

log = logging.getLogger(__name__)


def build(app: Flask, **overrides) -> Dispatcher:
    """A dispatcher for this app's database and configured gateway."""
    settings = settings_from_config(app.config)
    for name, value in overrides.items():
        if value is not None:
            setattr(settings, name, value)
    engine = app.extensions["database"].engine
    config = dict(app.config)
    gateway = str(config.get("SMS_PROVIDER") or "").strip().lower()
    if gateway == "smscentral" and not str(config.get("SMSCENTRAL_ORIGINATOR") or "").strip():
        # Without SMSCENTRAL_ORIGINATOR the gateway is built with the admin's sender ID. Either
        # way the dispatcher reads the setting again with each claim, so a change on the
        # settings page applies without a restart (Dispatcher._follow_sender).
        with make_sessionmaker(engine)() as session:
            config["SMSCENTRAL_ORIGINATOR"] = sms_settings.sender_id(session, "")
    return Dispatcher(engine, make_provider(config), settings)


def init_embedded(app: Flask) -> None:
    """Start a dispatcher thread with the first request, so CLI commands never start one."""
    if not app.config.get("EMBEDDED_WORKER") or app.testing:
        return
    lock = threading.Lock()
    state: dict[str, Dispatcher] = {}

    def start_once() -> None:
        if "dispatcher" in state:
            return
        with lock:
            if "dispatcher" in state:
                return
            dispatcher = build(app)
            # Supervised: should the loop ever end or raise, it is logged and started again.
            thread = threading.Thread(
                target=supervise, args=(dispatcher,), name="sms-dispatcher", daemon=True
            )
            thread.start()
            state["dispatcher"] = dispatcher
            app.extensions["dispatcher"] = dispatcher
            app.extensions["dispatcher_thread"] = thread
            app.extensions["dispatcher_wake"] = dispatcher.wake
            log.info("Embedded SMS dispatcher started (%s gateway)", dispatcher.provider.name)

    app.before_request(start_once)


def wake() -> None:
    """Tell the embedded dispatcher there is work now (a separate worker finds it by polling)."""
    waker = current_app.extensions.get("dispatcher_wake")
    if waker is not None:
        waker()
