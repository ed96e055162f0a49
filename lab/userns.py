"""Running the lab without root, inside user namespaces, where the kernel allows it.

Without root, `vantage lab run|demo` re-executes itself under
`unshare --user --map-root-user --mount --net --pid --fork --mount-proc`: inside, it is
root of its own user namespace, owns every network namespace it creates, and
mounts a private tmpfs on /run so that `ip netns` (which bind-mounts under
/run/netns) and the lab's state directory work. The pid namespace guarantees
cleanup even if the lab is killed outright: when its first process dies, the
kernel kills every process in it, and the namespaces go with them.

`vantage lab up` cannot work this way — the lab would die with the command —
so it says so. When the kernel refuses user namespaces, the error quotes why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

from vantage.lab.netns import LabError, run_command

MARKER_VARIABLE = "VANTAGE_LAB_USERNS"
# --net too: `ip netns add` returns to its starting network namespace with setns(), which is only
# allowed into a namespace the user namespace owns.
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "--net"]


def inside_user_namespace() -> bool:
    return os.environ.get(MARKER_VARIABLE) == "1"


def check_available() -> None:
    """Raise LabError saying exactly why unprivileged user namespaces cannot be used here."""
    if shutil.which("unshare") is None:
        raise LabError("not root, and `unshare` (util-linux) is missing: run the lab with sudo")
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        settings = []
        for path in (
            "/proc/sys/user/max_user_namespaces",
            "/proc/sys/kernel/unprivileged_userns_clone",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ):
            try:
                with open(path, encoding="ascii") as setting:
                    settings.append(
                        f"{path.removeprefix('/proc/sys/').replace('/', '.')}={setting.read().strip()}"
                    )
            except OSError:
                continue
        said = probe.stderr.strip() or f"exit {probe.returncode}"
        raise LabError(
            "not root, and this kernel refuses unprivileged user namespaces "
            f"(`unshare --user --map-root-user` said: {said}; "
            f"{', '.join(settings) or 'no user-namespace sysctls readable'}). Run the lab with sudo."
        )


def rerun_unprivileged(arguments: Sequence[str]) -> int:
    """Run `vantage <arguments>` again inside fresh user, mount and pid namespaces; its exit status."""
    check_available()
    print("vantage lab: not root: running inside unprivileged user namespaces (unshare)", file=sys.stderr)
    environment = dict(os.environ, **{MARKER_VARIABLE: "1"})
    argv = [*UNSHARE, "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-m", "vantage.cli"]
    return subprocess.call([*argv, *arguments], env=environment)


def private_run_directory() -> None:
    """Inside the user namespace: a private, writable /run for /run/netns and the lab's state."""
    run_command(["mount", "-t", "tmpfs", "-o", "mode=0755", "vantage-lab-run", "/run"])
