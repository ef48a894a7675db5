"""JupyterLab in headless Chromium for the widget tests (tests/test_widgets_browser.py).

A :class:`Lab` is a JupyterLab server on 127.0.0.1 (a free port, a random token) whose root is
a temporary folder holding copies of the notebooks, with the project's kernel (this Python,
this checkout's ``vaselib`` first on ``PYTHONPATH``) and its data, caches and settings in that
folder, so nothing lands in the repository or the user's Jupyter folders.  :func:`chromium`
starts Debian's Chromium through ChromeDriver with flags that keep it off the network.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MISSING_CHROMIUM = ("install Debian's chromium and chromium-driver: "
                    "apt-get install chromium chromium-driver")
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)
# JupyterLab user settings: no autosave, every cell kept in the DOM, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def require_browser_tools() -> tuple[str, str]:
    """Skip unless selenium, JupyterLab, chromium and chromedriver are all there."""
    for module in ("selenium", "jupyterlab"):
        pytest.importorskip(module, reason=f"the browser tests need {module}: "
                                           "pip install -e '.[test,lab]'")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(MISSING_CHROMIUM)
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server over ``root`` (a temporary folder); :meth:`stop` ends it."""

    def __init__(self, root: Path, *, extra_env: dict[str, str] | None = None,
                 start_timeout: float = 90):
        self.root = Path(root)
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        home = self.root / ".lab"
        settings = home / "settings"
        for rel, values in LAB_SETTINGS.items():
            f = settings / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        env = dict(os.environ)
        env.update({
            # the kernel imports this checkout's vaselib with this interpreter
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
            "JUPYTER_PATH": os.pathsep.join(
                p for p in (str(Path(sys.prefix) / "share" / "jupyter"),
                            env.get("JUPYTER_PATH", "")) if p),
            "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "IPYTHONDIR": str(home / "ipython"),
            "VASELIB_ROOT": str(self.root), "VASELIB_DATA": str(self.root / "data"),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg",
        })
        env.update(extra_env or {})
        self.log = open(home / "server.log", "wb")  # noqa: SIM115 (open while the server runs)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--ServerApp.open_browser=False",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
             "--ServerApp.terminals_enabled=False",
             *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            self._wait_ready(start_timeout)
        except BaseException:
            self.stop()
            raise

    def api(self, path: str):
        req = urllib.request.Request(f"{self.base}{path}",
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer in {timeout:.0f} s:\n{self.log_text()}")

    def url(self, rel: str) -> str:
        """``rel`` opened in a fresh workspace (no tabs restored from an earlier page)."""
        return f"{self.base}/lab/tree/{rel}?token={self.token}&reset"

    def log_text(self, tail: int = 4000) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.root / ".lab" / "server.log").read_bytes()[-tail:].decode("utf-8", "replace")

    def stop(self) -> None:
        """End the server and its kernels (its whole process group)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.log.close()


def chromium(chromium_path: str, driver_path: str, profile: Path):
    """Headless Chromium driven by selenium; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium_path
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(dir=profile)}")
    service = Service(executable_path=driver_path, log_output=str(profile / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(60)
    return driver


def prepare_notebook(stage: str, dest_dir: Path, overrides: dict) -> Path:
    """A copy of ``notebooks/<stage>.ipynb`` in ``dest_dir`` without stored outputs or widget
    state, its parameters cell ending with ``overrides`` (as papermill would inject them)."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / f"{stage}.ipynb", as_version=4)
    nb.metadata.pop("widgets", None)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{stage}: expected one cell tagged 'parameters'"
    cells[0].source += "\n# test overrides\n" + "".join(
        f"{name} = {value!r}\n" for name, value in overrides.items())
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / f"{stage}.ipynb"
    nbformat.write(nb, out)
    return out


# -- driving the notebook --------------------------------------------------------------------
# the notebook on show (other tabs stay in the DOM, hidden)
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
_PROMPTS = f"return [...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputPrompt')]" \
           ".map(e => e.textContent.trim())"
_KERNEL_IDLE = "const bar = document.querySelector('#jp-main-statusbar');" \
               "return !!bar && bar.innerText.includes('| Idle');"


def wait_until(what: str, predicate, timeout: float, poll: float = 0.5, detail=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} (waited {timeout:.0f} s){detail()}")
        time.sleep(poll)


def open_and_run_all(driver, lab: Lab, rel: str, timeout: float = 240) -> None:
    """Open ``rel`` in JupyterLab, wait for its kernel, Run → Run All Cells, wait until every
    code cell has run; fail with the notebook's error output if one did not."""
    from selenium.webdriver.common.by import By

    driver.get(lab.url(rel))
    wait_until("the notebook's kernel to start",
          lambda: driver.execute_script(_PROMPTS) and driver.execute_script(_KERNEL_IDLE),
          timeout, detail=lab.log_text)
    wait_until("the Run menu", lambda: driver.find_elements(
        By.XPATH, "//li[contains(@class,'lm-MenuBar-item')][.//div[text()='Run']]"),
        30)[0].click()
    wait_until("Run All Cells in the Run menu", lambda: driver.find_elements(
        By.CSS_SELECTOR, "li.lm-Menu-item[data-command='runmenu:run-all']"), 30)[0].click()

    def finished():
        prompts = driver.execute_script(_PROMPTS)
        started = any(p != "[ ]:" for p in prompts)
        return started and "[*]:" not in prompts and prompts

    prompts = wait_until("all cells to run", finished, timeout, poll=1,
                    detail=lambda: "\n" + notebook_errors(driver))
    if not all(p[1:-2].isdigit() for p in prompts):
        raise AssertionError(f"not every cell ran ({prompts}):\n{notebook_errors(driver)}")


def notebook_errors(driver) -> str:
    return driver.execute_script(
        f"return [...document.querySelectorAll('{NOTEBOOK} .jp-OutputArea-output')]"
        ".map(e => e.innerText).filter(t => /Error|Traceback/.test(t)).join('\\n---\\n')")


def shutdown_kernels(lab: Lab) -> None:
    for k in lab.api("/api/kernels"):
        req = urllib.request.Request(f"{lab.base}/api/kernels/{k['id']}", method="DELETE",
                                     headers={"Authorization": f"token {lab.token}"})
        urllib.request.urlopen(req, timeout=30).close()


def image_hashes(driver, css: str) -> list[str]:
    """SHA-256 of the bytes each ``<img>`` matching ``css`` shows (widget images are blobs)."""
    driver.set_script_timeout(30)
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const hex = b => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, '0')).join('');
        Promise.all([...document.querySelectorAll(arguments[0])].map(i =>
            fetch(i.src).then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b))
                        .then(hex)))
            .then(done, e => done(['error: ' + e]));""", css)


def type_into_readout(driver, root_css: str, text: str) -> None:
    """Replace the slider's readout text with ``text`` and press Enter, as a user would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    readout = driver.find_element(By.CSS_SELECTOR, f"{root_css} .widget-readout")
    readout.click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    readout.send_keys(text, Keys.ENTER)


def keys():
    """selenium's key names (Keys.HOME, Keys.END …), imported only once selenium is known."""
    from selenium.webdriver.common.keys import Keys

    return Keys


def press_on_handle(driver, root_css: str, key: str) -> None:
    """Focus the slider's handle and press ``key`` (Keys.HOME, Keys.END, Keys.PAGE_UP …)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"{root_css} .noUi-handle").send_keys(key)


def text_of(driver, css: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim())", css)


def wait_for_text(driver, css: str, predicate, what: str, timeout: float = 30) -> str:
    """Wait until the (single) element ``css`` shows text for which ``predicate`` is true."""
    last = []

    def check():
        last[:] = text_of(driver, css)
        return len(last) == 1 and predicate(last[0]) and last[0]

    return wait_until(what, check, timeout, poll=0.2, detail=lambda: f"; it shows {last}")
