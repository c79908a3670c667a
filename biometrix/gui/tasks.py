"""Work off the UI thread: ``TaskRunner.run_op`` runs an op on a QThreadPool and delivers its result on the UI thread.

The op must not touch widgets (anki's ``CollectionOp`` contract): it computes and returns a value. The
success or error callback then runs on the UI thread, and only if the parent widget still exists. Service
work is serialised on one worker thread, so the database and the models are never used by two threads at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from biometrix.core.errors import BiometrixError
from biometrix.gui.qt import QObject, QRunnable, Qt, QThreadPool, QWidget, Signal, Slot, isValid

log = logging.getLogger(__name__)

Op = Callable[[], Any]
OnSuccess = Callable[[Any], None]
OnError = Callable[[BaseException], None]


def error_message(err: BaseException) -> str:
    """One line for the user: the message of our own errors, a short description of anything else."""
    if isinstance(err, BiometrixError):
        text = str(err) or type(err).__name__
    elif isinstance(err, OSError):
        reason = err.strerror or str(err) or type(err).__name__
        text = f"{err.filename}: {reason}" if err.filename else reason
    elif isinstance(err, MemoryError):
        text = "out of memory"
    else:
        text = f"unexpected error ({type(err).__name__}: {err}); details are in the log"
    return " ".join(text.split())


class _Relay(QObject):
    """Lives on the UI thread; worker threads emit into it and Qt queues the call onto the UI thread."""

    finished = Signal(object, object, bool)  # task id, result or exception, ok

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__(runner)
        self._runner = runner
        self.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object, bool)
    def _deliver(self, task_id: object, value: object, ok: bool) -> None:
        self._runner._finish(int(task_id), value, ok)  # noqa: SLF001 - the relay is the runner's own helper


class _Job(QRunnable):
    def __init__(self, task_id: int, op: Op, relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task_id, self._op, self._relay = task_id, op, relay

    def run(self) -> None:
        try:
            value = self._op()
        except BaseException as err:  # noqa: BLE001 - handed to the UI thread and shown as a message
            if not isinstance(err, BiometrixError):
                log.error("background task failed", exc_info=err)
            self._relay.finished.emit(self._task_id, err, False)
        else:
            self._relay.finished.emit(self._task_id, value, True)


class TaskRunner(QObject):
    """Runs ops on its own thread pool (one thread by default) and calls back on the UI thread.

    ``busy_changed(bool)`` tells the window when work starts and when the last op is done.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 1) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._pool.setExpiryTimeout(-1)  # keep the worker: thread-affine libraries see one thread
        self._relay = _Relay(self)
        self._pending: dict[int, tuple[QWidget | None, OnSuccess | None, OnError | None]] = {}
        self._next_id = 0

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def run_op(self, parent: QWidget | None, op: Op, *, on_success: OnSuccess | None = None,
               on_error: OnError | None = None) -> int:
        """Run ``op()`` off the UI thread; then ``on_success(result)`` or ``on_error(exc)`` on the UI thread.

        Callbacks are skipped when ``parent`` has been deleted meanwhile. Returns the task id.
        """
        self._next_id += 1
        task_id = self._next_id
        was_busy = self.busy
        self._pending[task_id] = (parent, on_success, on_error)
        if not was_busy:
            self.busy_changed.emit(True)
        self._pool.start(_Job(task_id, op, self._relay))
        return task_id

    def _finish(self, task_id: int, value: object, ok: bool) -> None:
        parent, on_success, on_error = self._pending.pop(task_id, (None, None, None))
        try:
            if parent is not None and not isValid(parent):
                return
            if ok and on_success is not None:
                on_success(value)
            elif not ok:
                if on_error is not None:
                    on_error(value)  # type: ignore[arg-type]
                else:
                    log.warning("background task failed: %s", error_message(value))  # type: ignore[arg-type]
        finally:
            if not self.busy:
                self.busy_changed.emit(False)

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the pool is idle (for shutdown); True when it is."""
        return bool(self._pool.waitForDone(msecs))
