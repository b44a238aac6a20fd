"""`memtui serve` as a user runs it: a live host at --speed, stopped by SIGTERM or Ctrl+C,
--save, and clear refusals of bad arguments."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim

from memtui import paths
from tests.serve_helpers import isolated_env, memtui_command, start_subprocess


def connect(port: int, pwd: str):
    return SmartConnect(host="127.0.0.1", port=port, user="root", pwd=pwd, disableSslCertValidation=True)


def test_live_host_balloons_and_save_on_sigterm(tmp_path):
    profile = tmp_path / "host.toml"
    shutil.copy(paths.default_profile_path(), profile)
    secret = tmp_path / "password"
    secret.write_text("pa55 word\n")
    env = isolated_env(tmp_path / "home")
    proc, port, lines = start_subprocess(
        [str(profile), "--port", "0", "--speed", "300", "--password-file", str(secret), "--save"], env)
    try:
        assert (tmp_path / "home" / "vsphere-cert.pem").is_file()
        si = connect(port, "pa55 word")
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        deadline = time.monotonic() + 20
        ballooned = {}
        while time.monotonic() < deadline and not ballooned:
            ballooned = {vm.name: vm.summary.quickStats.balloonedMemory for vm in view.view
                         if vm.summary.quickStats.balloonedMemory}
            time.sleep(0.2)
        assert ballooned, "the boot storm makes the host balloon within about 2 simulated minutes"
        name = next(iter(ballooned))
        vm = next(v for v in view.view if v.name == name)
        assert vm.guest.toolsRunningStatus == "guestToolsRunning"
        host = content.rootFolder.childEntity[0].hostFolder.childEntity[0].host[0]
        host.configManager.advancedOption.UpdateOptions([vim.option.OptionValue(key="Mem.IdleTax", value=30)])
        spec = vim.vm.ConfigSpec(memoryAllocation=vim.ResourceAllocationInfo(reservation=256))
        assert WaitForTask(vm.ReconfigVM_Task(spec)) == "success"
        t0 = si.CurrentTime()
        time.sleep(0.5)
        assert (si.CurrentTime() - t0).total_seconds() > 60  # the host's clock runs at --speed
        Disconnect(si)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "saved the host's settings" in err and "Traceback" not in err
    text = profile.read_text()
    assert '"Mem.IdleTax" = 30' in text or "Mem.IdleTax = 30" in text
    assert "reservation_mb = 256" in text
    assert "# memtui's default host" in text  # the user's comments survive


def test_generated_password_and_ctrl_c(tmp_path):
    env = isolated_env(tmp_path / "home")
    proc, port, lines = start_subprocess(["--port", "0"], env)
    try:
        line = proc.stderr.readline()
        assert "password (generated, shown once):" in line
        password = line.rsplit(":", 1)[1].strip()
        si = connect(port, password)
        assert si.RetrieveContent().about.apiType == "HostAgent"
        Disconnect(si)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err


def run_serve(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(memtui_command() + ["serve", *args], env=env, capture_output=True, text=True,
                          timeout=30)


def test_port_in_use_is_a_clear_error(tmp_path):
    env = isolated_env(tmp_path / "home")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run_serve(["--port", str(port)], env)
    assert r.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args, expected", [
    (["--password-file", "/nonexistent/pw"], "cannot read the password file /nonexistent/pw"),
    (["--cert", "/nonexistent/c.pem"], "--cert and --key go together"),
    (["--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem"], "cannot read /nonexistent/c.pem"),
    (["--speed", "0"], "--speed: must be above 0"),
    (["--port", "99999"], "--port: must be 0 to 65535"),
    ([str(paths.default_profile_path()), "--save"], "one of memtui's bundled profiles"),
])
def test_bad_arguments_exit_2(tmp_path, args, expected):
    r = run_serve(["--port", "0", *args], isolated_env(tmp_path / "home"))
    assert r.returncode == 2
    assert expected in r.stderr and "Traceback" not in r.stderr


def test_bad_profile_says_where(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\n[host]\nname = "x"\nmemory_mb = "lots"\n')
    r = run_serve([str(bad), "--port", "0"], isolated_env(tmp_path / "home"))
    assert r.returncode == 2
    assert "bad.toml" in r.stderr and "memory_mb" in r.stderr and "Traceback" not in r.stderr
