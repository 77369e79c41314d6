"""nbgrader's Execute step with a notebook deadline and a kernel that may die.

Stock nbgrader gives up on the whole submission when the kernel dies, and a
cell that ignores SIGINT makes every later cell wait out its own timeout.
This preprocessor replaces ``Execute`` in ``Autograde.autograde_preprocessors``:

* each cell's timeout is cut to what is left of the notebook's wall-clock budget;
* after a timeout the kernel must answer a probe within a few seconds, or it
  is killed (the whole sandbox goes with it);
* once the kernel is dead or killed, every remaining code cell gets an error
  output saying why it was not run.  That matters: nbgrader scores a test
  cell without error output as passed;
* what happened is written to ``events_path`` (outside the student's reach)
  for the batch report and the feedback note.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from queue import Empty

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from ..atomic_write import write_atomic
from ..cells import grade_id_of
from ..sandbox.bubblewrap import SandboxKernelManager, limit_traits, scrub_workdir

STOPPED_ENAME = "GradingStopped"
CAP_SIGNALS = {signal.SIGXCPU: "CPU-time cap", signal.SIGKILL: "memory or CPU-time cap",
               signal.SIGXFSZ: "file-size cap"}


class GuardedExecute(Execute, limit_traits("notebook_timeout")):
    """Execute with a whole-notebook deadline and graceful handling of dead kernels."""

    probe_timeout = Integer(5, help="seconds a kernel has to answer after an interrupt").tag(
        config=True)
    sandboxed = Bool(True, help="run the kernel in the bubblewrap sandbox").tag(config=True)
    events_path = Unicode("", help="JSON file receiving what happened").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # after super(): Execute passes kernel_manager_class as a keyword
        self.kernel_manager_class = SandboxKernelManager

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.notebook_timeout
        self._stopped: str | None = None
        self._events: list[dict] = []
        started = time.monotonic()
        workdir = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        try:
            try:
                nb, resources = super().preprocess(nb, resources, km)
            except DeadKernelError:
                # the kernel died while the client shut it down: cells are all done
                pass
            except Exception as error:  # noqa: BLE001 - starting or stopping went wrong
                self._event("kernel_died", "", f"the kernel could not be run or stopped "
                            f"cleanly ({error.__class__.__name__})")
        finally:
            # a sandboxed kernel's folder is a tmpfs of its own: it never wrote this one
            removed = [] if self.sandboxed else scrub_workdir(workdir)
            if removed:
                self._event("links_removed", "", f"removed links: {', '.join(removed)}")
            self._write_events(time.monotonic() - started)
        return nb, resources

    def setup_kernel(self, **kwargs):
        self.km = self.km or self.create_kernel_manager()
        self.km.sandboxed = self.sandboxed
        return super().setup_kernel(**kwargs)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = max(1, int(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stop("notebook_timeout", cell, f"the notebook ran past its wall-clock "
                       f"limit of {self.notebook_timeout} s")
        if self._stopped is not None:
            self._mark_not_run(cell)
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._kernel_died(cell)
            return cell, resources
        except CellTimeoutError:  # no output for iopub_timeout after the reply
            self._timed_out(cell, "the kernel stopped sending output")
            return cell, resources
        except Exception as error:  # noqa: BLE001 - e.g. forged or garbled kernel messages
            # student code owns the kernel and its sockets; whatever it sends, the
            # notebook is still handed on to be scored by the trusted verdict
            self._broken_protocol(cell, error)
            return cell, resources
        if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", [])):
            self._timed_out(cell, "the cell exceeded its time limit")
        return cell, resources

    # -- what happened --------------------------------------------------------------

    def _grade_id(self, cell) -> str:
        return grade_id_of(cell) or ""

    def _event(self, kind: str, grade_id: str, message: str) -> None:
        self._events.append({"kind": kind, "cell": grade_id, "message": message})

    def _timed_out(self, cell, why: str) -> None:
        over = time.monotonic() >= self._deadline
        kind = "notebook_timeout" if over else "cell_timeout"
        self._event(kind, self._grade_id(cell), why)
        if over or not self._responsive():
            self._kill_kernel()
            reason = ("the notebook ran past its wall-clock limit" if over else
                      "a cell exceeded its time limit and the kernel ignored the interrupt")
            self._stopped = reason
            self._event("kernel_killed", self._grade_id(cell), reason)

    def _kernel_died(self, cell) -> None:
        code = self._exit_code()
        if code is not None and code < 0 and -code in CAP_SIGNALS:
            kind, why = "resource_cap", f"the kernel was stopped by the {CAP_SIGNALS[-code]}"
        elif code is not None and code > 128 and code - 128 in CAP_SIGNALS:
            # bubblewrap reports its child's death by signal as 128 + signal
            kind, why = "resource_cap", f"the kernel was stopped by the {CAP_SIGNALS[code - 128]}"
        else:
            kind, why = "kernel_died", f"the kernel exited (exit status {code})"
        self._stop(kind, cell, why)
        self._append_stop_output(cell, f"{why} while running this cell; the cells after it "
                                 "were not run and score 0, the cells before it keep their "
                                 "grades.")

    def _broken_protocol(self, cell, error: Exception) -> None:
        why = f"the kernel sent messages the grader could not read ({error.__class__.__name__})"
        self._kill_kernel()
        self._stop("kernel_died", cell, why)
        self._append_stop_output(cell, f"{why} while running this cell; it was stopped and "
                                 "the cells after it were not run.")

    def _stop(self, kind: str, cell, why: str) -> None:
        self._stopped = why
        self._event(kind, self._grade_id(cell), why)

    def _mark_not_run(self, cell) -> None:
        cell.outputs = []
        self._append_stop_output(cell, f"not run: {self._stopped}")

    def _append_stop_output(self, cell, message: str) -> None:
        cell.setdefault("outputs", []).append(NotebookNode(
            output_type="error", ename=STOPPED_ENAME, evalue=message,
            traceback=[f"{STOPPED_ENAME}: {message}"]))

    # -- kernel handling ------------------------------------------------------------

    def _exit_code(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        if process is None:
            return None
        try:
            return process.wait(timeout=5)
        except Exception:
            return process.poll()

    def _responsive(self) -> bool:
        """True if the kernel answers a kernel_info request after the interrupt."""
        return run_sync(self._async_probe)()

    async def _async_probe(self) -> bool:
        if not await self.km.is_alive():
            return False
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + self.probe_timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=left)
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def _kill_kernel(self) -> None:
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # already gone: nothing left to stop
            self.log.warning("killing the kernel: %s", error)

    def _write_events(self, seconds: float) -> None:
        if not self.events_path:
            return
        write_atomic(Path(self.events_path),
                     json.dumps({"events": self._events, "seconds": round(seconds, 3)}))
