"""Run the dispatcher: as `flask sms worker`, or as a thread inside the web process
(EMBEDDED_WORKER)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app

from webapp.config import check_gateway
from webapp.database import make_sessionmaker
from webapp.sms import settings as sms_settings
from webapp.sms.dispatcher import Dispatcher, settings_from_config, supervise
from webapp.sms.providers.factory import make_provider

log = logging.getLogger(__name__)

# How long a web process that is stopping waits for its embedded dispatcher: a gateway call's own
# timeouts (5 s to connect, 20 s to read), then the outcomes' write and the heartbeat's removal.
STOP_WAIT_SECONDS = 30.0
# How often requests try again to start an embedded dispatcher that could not be built: its SMS
# Central sender may come from the Sender ID an administrator has yet to save on /admin/settings.
RETRY_SECONDS = 30.0

# The embedded dispatchers of this process, each as a function that stops it and waits for it,
# and those started (their threads).
_stoppers: list[Callable[[], None]] = []
_threads: list[threading.Thread] = []
_hooks_lock = threading.Lock()
_hooked = False


def build(app: Flask, **overrides) -> Dispatcher:
    """A dispatcher for this app's database and configured gateway; ValueError says which setting
    the gateway lacks."""
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
        if not config["SMSCENTRAL_ORIGINATOR"]:
            raise ValueError(
                "SMS_PROVIDER=smscentral needs a sender: set SMSCENTRAL_ORIGINATOR, or save a "
                "Sender ID on /admin/settings."
            )
    return Dispatcher(engine, make_provider(config), settings)


def init_embedded(app: Flask) -> None:
    """Start a dispatcher thread with the first request, so CLI commands never start one; stop it
    when the process stops cleanly (SIGTERM, Ctrl+C, a gunicorn worker's exit).

    Gateway settings it could not be built from stop the start (ConfigError), as every request
    failed with them; one only the database can complete (the sender ID) is logged instead, and
    the pages keep answering while it is missing."""
    if not app.config.get("EMBEDDED_WORKER") or app.testing:
        return
    check_gateway(app.config)
    lock = threading.Lock()
    state: dict[str, Dispatcher] = {}
    stopping = threading.Event()
    failed = {"retry_at": 0.0, "problem": ""}

    def start_once() -> None:
        if "dispatcher" in state or stopping.is_set() or time.monotonic() < failed["retry_at"]:
            return
        with lock:
            if "dispatcher" in state or stopping.is_set() or time.monotonic() < failed["retry_at"]:
                return
            try:
                dispatcher = build(app)
            except Exception as error:
                # A page must not fail because sending cannot start: /readyz and Status say no
                # worker is running, and the log says why, once a problem.
                failed["retry_at"] = time.monotonic() + RETRY_SECONDS
                if str(error) != failed["problem"]:
                    failed["problem"] = str(error)
                    log.error(
                        "The embedded SMS dispatcher cannot start (tried again every %.0f s): %s",
                        RETRY_SECONDS,
                        error,
                        exc_info=not isinstance(error, ValueError),
                    )
                return
            # Supervised: should the loop ever end or raise, it is logged and started again.
            thread = threading.Thread(
                target=supervise, args=(dispatcher,), name="sms-dispatcher", daemon=True
            )
            thread.start()
            _threads.append(thread)
            state["dispatcher"] = dispatcher
            app.extensions["dispatcher"] = dispatcher
            app.extensions["dispatcher_thread"] = thread
            app.extensions["dispatcher_wake"] = dispatcher.wake
            log.info("Embedded SMS dispatcher started (%s gateway)", dispatcher.provider.name)

    def stop() -> None:
        with lock:
            stopping.set()  # a request still being answered must not start another one
            dispatcher = state.get("dispatcher")
        if dispatcher is None:
            return
        thread = app.extensions["dispatcher_thread"]
        if not thread.is_alive():
            return
        dispatcher.stop()
        # The thread is a daemon, which the interpreter would end mid-call: the message in flight
        # stayed `sending` (then `unknown`) and the heartbeat row was left behind, so Status warned
        # of a silent worker for a day after every restart.
        thread.join(STOP_WAIT_SECONDS)
        if thread.is_alive():
            log.warning(
                "The embedded SMS dispatcher did not stop within %.0f s; its messages in flight "
                "will be reconciled",
                STOP_WAIT_SECONDS,
            )
            return
        dispatcher.provider.close()
        log.info("Embedded SMS dispatcher stopped")

    app.before_request(start_once)
    _stoppers.append(stop)
    _hook_process_exit()


def _hook_process_exit() -> None:
    """Once a process: stop the embedded dispatchers as the interpreter exits, and make SIGTERM
    a clean exit where nothing else handles it (waitress, `flask run`)."""
    global _hooked
    with _hooks_lock:
        if _hooked:
            return
        _hooked = True
    # Called at the interpreter's exit before concurrent.futures shuts its pools down (these hooks
    # run newest first, and the dispatcher's import registered that one): the dispatcher still
    # has its threads to finish the calls in flight and record them. atexit would be too late.
    threading._register_atexit(_stop_all)
    # Python's own SIGTERM action ends the process on the spot, with no exit hooks at all. Only
    # the main thread may set a handler, and one someone else set (gunicorn's, in its workers)
    # is theirs: gunicorn's worker then exits through sys.exit, which runs the hook above.
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _stop_all() -> None:
    for stop in _stoppers:
        try:
            stop()
        except Exception:  # one that fails must not keep the others running
            log.exception("Could not stop an embedded SMS dispatcher")


def _exit_on_sigterm(signum: int, _frame) -> None:
    """SIGTERM as Ctrl+C: the server (waitress) closes and returns, and the interpreter's exit
    stops the dispatchers. Before any has started, the default action (end at once) is kept."""
    if not any(thread.is_alive() for thread in _threads):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise SystemExit(0)


def wake() -> None:
    """Tell the embedded dispatcher there is work now (a separate worker finds it by polling)."""
    waker = current_app.extensions.get("dispatcher_wake")
    if waker is not None:
        waker()
