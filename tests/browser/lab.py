"""A real JupyterLab server and a real Chromium page, for the browser tests.

:class:`LabServer` starts ``jupyter lab`` on 127.0.0.1 with its own config, data, runtime,
workspace and settings folders and a token, in its own process group, and stops it (and
every kernel it started) at the end. :class:`NotebookPage` drives one notebook through
``window.jupyterapp`` (``--expose-app-in-browser``): wait for the kernel, Run All, wait
until every cell ran, then report what a learner sees (outputs, errors, rendered widgets).

Measured traps (``/work/shared/TESTING-NOTES.md``): Run All sent before the kernel
connection is open is silently lost; ``.jupyter-widgets`` alone proves nothing (the
error box has that class, and without the widget extension widgets fall back to text),
so the widget check is positive (a rendered control that answers a click) and has a
negative control; the news pop-up is switched off in the settings folder.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
VIEWPORT = {"width": 1280, "height": 2400}  # tall: JupyterLab scrolls inside its own panel
MAX_SCREENSHOT_HEIGHT = 14000  # Chromium's texture limit is about 16k pixels

# JupyterLab settings for a quiet, deterministic test browser.
SETTINGS: dict[str, dict[str, Any]] = {
    # no "Would you like to receive official Jupyter news?" pop-up, no update check
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    # never write the course's notebooks back to disk while the tests run them
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # render every cell (no virtual scrolling): cells below the fold are in the DOM too
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """``jupyter lab`` serving ``root_dir``; ``disabled_extensions`` go to page_config.json."""

    root_dir: Path
    home: Path  # an empty folder for this server's config / data / runtime / settings
    disabled_extensions: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)  # for the server and its kernels (a sandbox's)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str, workspace: str) -> str:
        """Open ``name`` in a workspace of its own, reset (nothing restored from a previous page)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"

    def _prepare(self) -> dict[str, str]:
        dirs = {name: self.home / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        for relative, values in SETTINGS.items():
            target = dirs["settings"] / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values), encoding="utf-8")
        if self.disabled_extensions:
            labconfig = dirs["config"] / "labconfig"
            labconfig.mkdir(exist_ok=True)
            (labconfig / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {name: True for name in self.disabled_extensions}}), encoding="utf-8")
        self.env = {**os.environ, **self.extra_env, "JUPYTER_CONFIG_DIR": str(dirs["config"]),
                    "JUPYTER_DATA_DIR": str(dirs["data"]), "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
                    "IPYTHONDIR": str(dirs["ipython"]), "JUPYTER_PLATFORM_DIRS": "1"}
        return self.env

    def start(self, timeout: float = 90.0) -> None:
        env = self._prepare()
        self.log_path = self.home / "jupyter.log"
        for _ in range(3):  # a free port can be taken between the check and the start
            self.port = _free_port()
            command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                       "--port-retries=0", "--allow-root", f"--IdentityProvider.token={self.token}",
                       f"--ServerApp.root_dir={self.root_dir}", "--expose-app-in-browser",
                       f"--LabApp.user_settings_dir={self.home / 'settings'}",
                       f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
                       # the checkpoint JupyterLab makes on opening a notebook: here, not next to the notebook
                       f"--FileCheckpoints.checkpoint_dir={self.home / 'checkpoints'}",
                       "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(command, cwd=self.root_dir, env=env, stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if self._answers():
                    return
                time.sleep(0.2)
            self.stop()
        raise RuntimeError(f"JupyterLab did not start; its log:\n{self.log_tail()}")

    def trust(self, *notebooks: Path) -> None:
        """``jupyter trust`` for this server (its own signature database); the files are not changed."""
        subprocess.run([sys.executable, "-m", "nbformat.sign", *map(str, notebooks)], env=self.env, check=True,
                       capture_output=True)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel of this server through its REST API (sessions first)."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}")
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError):
            pass

    def stop(self) -> None:
        """Kernels, then the server's process group; then any kernel still alive (by pid)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.shutdown_kernels()
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        for pid in self.orphan_kernels():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process = None

    def orphan_kernels(self) -> list[int]:
        """Pids of processes whose command line names this server's runtime folder (its kernels)."""
        marker = str(self.home / "runtime").encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if marker in (entry / "cmdline").read_bytes():
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log_path else ""
        except OSError:
            return ""


# --- the page ----------------------------------------------------------------------------

# Shared JS: find the NotebookPanel of a path among the main-area widgets.
_FIND = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
"""

_KERNEL_STATE = _FIND + """
(path) => {
  const panel = findPanel(path);
  if (!panel) return {ready: false, why: window.jupyterapp ? 'notebook not open yet' : 'no window.jupyterapp'};
  if (!panel.context.isReady) return {ready: false, why: 'notebook not loaded'};
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel) return {ready: false, why: 'no kernel yet'};
  return {ready: kernel.connectionStatus === 'connected' && kernel.status === 'idle',
          why: `connection ${kernel.connectionStatus}, status ${kernel.status}`, id: panel.id};
}
"""

# Count execute requests sent to the notebook's kernel and their replies, from now on.
_TRACK_EXECUTES = """
const trackExecutes = (panel) => {
  const kernel = panel.sessionContext.session.kernel;
  if (window.__courseExecKernel) window.__courseExecKernel.anyMessage.disconnect(window.__courseExecSlot);
  const exec = {sent: 0, replied: 0};
  window.__courseExec = exec;
  window.__courseExecKernel = kernel;
  window.__courseExecSlot = (_, args) => {
    const type = args.msg.header.msg_type;
    if (args.direction === 'send' && type === 'execute_request') exec.sent += 1;
    if (args.direction === 'recv' && type === 'execute_reply') exec.replied += 1;
  };
  kernel.anyMessage.connect(window.__courseExecSlot);
};
"""

_RUN_ALL = _FIND + _TRACK_EXECUTES + """
(path) => {
  const app = window.jupyterapp;
  const panel = findPanel(path);
  app.shell.activateById(panel.id);
  trackExecutes(panel);
  window.__courseRunAll = {done: false};
  app.commands.execute('notebook:run-all-cells').then(
    (result) => { window.__courseRunAll = {done: true, result: result}; },
    (error) => { window.__courseRunAll = {done: true, error: String(error)}; });
  return true;
}
"""

_RUN_DONE = _FIND + """
(path) => {
  const state = window.__courseRunAll;
  if (!state || !state.done) return false;
  const panel = findPanel(path);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  // Run All sends every cell at once; when a cell tagged raises-exception fails, JupyterLab's command
  // settles early while the kernel goes on with the queued cells (idle for an instant between them).
  // So also wait until every execute request sent since the run began has its reply.
  const exec = window.__courseExec;
  if (!exec || exec.sent === 0 || exec.replied < exec.sent) return false;
  return !panel.content.widgets.some((cell) => cell.model.type === 'code' &&
      (cell.model.executionState === 'running' || (cell.promptNode && cell.promptNode.textContent.includes('*'))));
}
"""

_REPORT = _FIND + """
(path) => {
  const panel = findPanel(path);
  const tagsOf = (model) => (model.getMetadata ? model.getMetadata('tags') : null) || [];
  const cells = panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    if (model.type !== 'code') return null;
    const outputs = model.outputs.toJSON();
    const stderrNodes = Array.from(cell.node.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'));
    return {
      index: index,
      source: model.sharedModel.getSource().split('\\n')[0].slice(0, 100),
      tags: tagsOf(model),
      executionCount: model.executionCount,
      errors: outputs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`),
      stderrTracebacks: stderrNodes.map((n) => n.innerText).filter((t) => t.includes('Traceback')),
      images: Array.from(cell.node.querySelectorAll('.jp-OutputArea-output img'))
        .filter((img) => img.complete && img.naturalWidth > 0).length,
    };
  }).filter((c) => c !== null);
  const text = panel.content.node.innerText;
  const visible = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
  const widgetNodes = Array.from(panel.content.node.querySelectorAll(
      '.jupyter-widgets .widget-label, .jupyter-widgets button.jupyter-button'));
  return {
    panelId: panel.id,
    // a label or button whose text does not fit its box (CSS cuts it to «temperat…»)
    truncatedLabels: widgetNodes.filter((el) => visible(el) && el.scrollWidth > el.clientWidth + 1)
      .map((el) => el.innerText.trim()).filter((t) => t),
    // a shown <img> with nothing to draw: the browser's broken-image icon
    brokenImages: Array.from(panel.content.node.querySelectorAll('.jupyter-widgets img'))
      .filter((img) => visible(img) && img.complete && img.naturalWidth === 0).length,
    cells: cells,
    errorDisplaying: text.includes('Error displaying widget'),
    loadingWidget: text.includes('Loading widget'),
    widgetTextFallback: (text.match(/(VBox|HBox|Button|Dropdown|Tab|Accordion)\\(children=|VBox\\(|HBox\\(/g) || []).length,
  };
}
"""

# Widget outputs whose content a control may change: HTML, Output, Image widgets.
RESULT_WIDGETS = ".widget-html, .widget-htmlmath, .widget-output, img.widget-image"
_OUTPUT_SNAPSHOT = """
(root) => Array.from(root.querySelectorAll('%s'))
  .map((e) => e.tagName === 'IMG' ? e.getAttribute('src') : e.innerHTML)
""" % RESULT_WIDGETS

# Count every DOM change inside a result widget from now on, transient ones included (a panel may
# show progress, then the same final result as before: seeded, deterministic lessons do).
_OBSERVE_RESULTS = """
(root) => {
  const selector = '%s';
  if (window.__courseObserver) window.__courseObserver.disconnect();
  window.__courseResultChanges = 0;
  window.__courseObserver = new MutationObserver((records) => {
    for (const record of records) {
      const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
      if (node && node.closest(selector)) window.__courseResultChanges += 1;
    }
  });
  window.__courseObserver.observe(root, {subtree: true, childList: true, characterData: true,
                                         attributes: true, attributeFilter: ['src']});
}
""" % RESULT_WIDGETS

CONTROLS = {  # what a learner can operate, as ipywidgets 8 renders it
    "button": "button.widget-button:not([disabled])",
    "dropdown": ".widget-dropdown select:not([disabled])",
    "slider": ".widget-slider .noUi-handle, .widget-slider input[type=range]",
    "text": ".widget-text input:not([disabled]), .widget-textarea textarea:not([disabled])",
    "checkbox": ".widget-checkbox input[type=checkbox]:not([disabled])",
    "toggle": ".widget-toggle-button:not([disabled]), .widget-toggle-buttons button:not([disabled])",
}


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page: Any, server: LabServer, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name
        self.panel_id: str | None = None
        self.console: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    # --- steps ------------------------------------------------------------------------
    def open(self, timeout_s: float = 120) -> None:
        """Load JupyterLab on this notebook and wait until its kernel is connected and idle."""
        workspace = "w" + secrets.token_hex(4)
        self.page.goto(self.server.notebook_url(self.name, workspace), wait_until="domcontentloaded",
                       timeout=timeout_s * 1000)
        state = self._poll(_KERNEL_STATE, lambda s: s["ready"], timeout_s,
                           f"{self.name}: kernel connection not ready")
        self.panel_id = state["id"]

    def run_all(self, timeout_s: float = 600) -> None:
        """Run All, then wait until the command finished, every execute request has its reply,
        the kernel is idle and no cell is pending."""
        self.page.evaluate(_RUN_ALL, self.name)
        self._poll(_RUN_DONE, bool, timeout_s, f"{self.name}: Run All did not finish")

    def settle_widgets(self, timeout_s: float = 15) -> dict[str, Any]:
        """Wait (bounded) until no output still says 'Loading widget'; return the report."""
        deadline = time.monotonic() + timeout_s
        while True:
            report = self.report()
            if not report["loadingWidget"] or time.monotonic() > deadline:
                return report
            time.sleep(0.25)

    def report(self) -> dict[str, Any]:
        return self.page.evaluate(_REPORT, self.name)

    @property
    def panel(self) -> Any:
        return self.page.locator(f"#{self.panel_id}")

    def outputs_snapshot(self) -> list[str]:
        return self.panel.evaluate(_OUTPUT_SNAPSHOT)

    def observe_results(self) -> None:
        self.panel.evaluate(_OBSERVE_RESULTS)

    def result_changes(self) -> int:
        return self.page.evaluate("() => window.__courseResultChanges || 0")

    def saved_by_lab(self) -> bool:
        """True if JupyterLab saved this notebook through the server (autosave must stay off)."""
        return f"Saving file at /{self.name}" in self.server.log_tail(10**9)

    def kernel_idle(self) -> bool:
        return self.page.evaluate(_KERNEL_STATE, self.name)["ready"]

    def watch_kernel_errors(self) -> None:
        """From now on, collect every error / stderr message the kernel sends (button handlers)."""
        self.page.evaluate(_FIND + """
        (path) => {
          const kernel = findPanel(path).sessionContext.session.kernel;
          window.__courseKernelErrors = [];
          kernel.iopubMessage.connect((sender, msg) => {
            const type = msg.header.msg_type;
            if (type === 'error') window.__courseKernelErrors.push(msg.content.ename + ': ' + msg.content.evalue);
            if (type === 'stream' && msg.content.name === 'stderr' && msg.content.text.includes('Traceback'))
              window.__courseKernelErrors.push(msg.content.text);
          });
        }""", self.name)

    def kernel_errors(self) -> list[str]:
        return self.page.evaluate("() => window.__courseKernelErrors || []")

    def screenshot(self, path: Path) -> list[Path]:
        """The whole notebook: the viewport grown by what the notebook's scroller hides, in tiles of at
        most MAX_SCREENSHOT_HEIGHT pixels (``name.png``, ``name-2.png``, ...). Returns the files."""
        measure = """(p, top) => {
            const s = p.querySelector('.jp-WindowedPanel-outer') || p.querySelector('.jp-Notebook');
            if (top !== null) s.scrollTop = top;
            const cells = p.querySelectorAll('.jp-Cell');
            const last = cells[cells.length - 1];
            const content = last ? last.getBoundingClientRect().bottom - s.getBoundingClientRect().top + s.scrollTop
                                 : s.scrollHeight;  // the padding JupyterLab adds below the last cell is not content
            return [s.scrollTop, s.clientHeight, Math.ceil(content)]; }"""
        _, visible, content = self.panel.evaluate(measure, None)
        height = min(VIEWPORT["height"] + max(content - visible, 0) + 40, MAX_SCREENSHOT_HEIGHT)
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
        self.page.wait_for_timeout(400)
        path.parent.mkdir(parents=True, exist_ok=True)
        files, offset = [], 0
        while len(files) < 10:
            top, visible, content = self.panel.evaluate(measure, offset)
            self.page.wait_for_timeout(150)
            target = path if not files else path.with_name(f"{path.stem}-{len(files) + 1}{path.suffix}")
            self.page.screenshot(path=str(target))
            files.append(target)
            if top + visible >= content:
                break
            offset = top + visible
        self.page.set_viewport_size(VIEWPORT)
        return files

    # --- a learner's single steps (lesson walk-throughs) ---------------------------------
    def find_cell(self, text: str, kind: str = "code") -> int:
        """Index of the first cell of ``kind`` whose source contains ``text``."""
        index = self.page.evaluate(_FIND + """
        ([path, text, kind]) => findPanel(path).content.widgets.findIndex(
            (c) => c.model.type === kind && c.model.sharedModel.getSource().includes(text))""",
                                   [self.name, text, kind])
        assert index >= 0, f"{self.name}: no {kind} cell contains {text!r}"
        return index

    def cell(self, index: int) -> Any:
        """Locator of the cell at ``index`` (every cell is in the DOM: windowing is off)."""
        return self.panel.locator(".jp-Cell").nth(index)

    def source(self, index: int) -> str:
        return self.page.evaluate(_FIND + """
        ([path, i]) => findPanel(path).content.widgets[i].model.sharedModel.getSource()""", [self.name, index])

    def set_source(self, index: int, text: str) -> None:
        """Replace a cell's code, as a learner editing it would (through the shared model)."""
        self.page.evaluate(_FIND + """
        ([path, i, text]) => findPanel(path).content.widgets[i].model.sharedModel.setSource(text)""",
                           [self.name, index, text])

    def run_cell(self, index: int, timeout_s: float = 120) -> str:
        """Select one cell, run it (Ctrl+Enter), wait until done; return its output text."""
        self.page.evaluate(_FIND + _TRACK_EXECUTES + """
        ([path, i]) => {
          const app = window.jupyterapp, panel = findPanel(path);
          app.shell.activateById(panel.id);
          trackExecutes(panel);
          panel.content.activeCellIndex = i;
          panel.content.deselectAll();
          window.__courseRunAll = {done: false};
          app.commands.execute('notebook:run-cell').then(
            (r) => { window.__courseRunAll = {done: true, result: r}; },
            (e) => { window.__courseRunAll = {done: true, error: String(e)}; });
        }""", [self.name, index])
        self._poll(_RUN_DONE, bool, timeout_s, f"{self.name}: cell {index} did not finish")
        return self.output_text(index)

    def notebook_json(self) -> dict[str, Any]:
        """The notebook as JupyterLab holds it now (nbformat JSON: every cell's outputs as shown), unsaved."""
        return self.page.evaluate(_FIND + "(path) => findPanel(path).context.model.toJSON()", self.name)

    def output_text(self, index: int) -> str:
        return self.page.evaluate(_FIND + """
        ([path, i]) => { const a = findPanel(path).content.widgets[i].node.querySelector('.jp-OutputArea');
                         return a ? a.innerText : ''; }""", [self.name, index])

    def restart_kernel(self, timeout_s: float = 60) -> None:
        """Kernel -> Restart (without the confirmation dialog), then wait for the new kernel."""
        self.page.evaluate(_FIND + "async (path) => { await findPanel(path).sessionContext.restartKernel(); }",
                           self.name)
        self._poll(_KERNEL_STATE, lambda s: s["ready"], timeout_s, f"{self.name}: kernel not back after restart")

    def shutdown_kernel(self) -> None:
        """Stop this notebook's kernel (and with it the practice provider)."""
        self.page.evaluate(_FIND + """
        async (path) => { const p = findPanel(path); if (p) await p.sessionContext.shutdown(); }""", self.name)

    # --- helpers ----------------------------------------------------------------------
    def _poll(self, script: str, done: Any, timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.page.evaluate(script, self.name)
            except Exception as e:  # page still navigating: try again
                last = f"{type(e).__name__}: {e}"
            else:
                if done(last):
                    return last
            time.sleep(0.2)
        raise AssertionError(f"{what} after {timeout_s:.0f} s (last state: {last}); "
                             f"browser console errors: {self.console[-5:]}\nJupyterLab log:\n{self.server.log_tail(1500)}")
