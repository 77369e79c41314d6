"""JupyterHub for the Initialization course; settings come from hub/setup_course.py.

    COURSE_HUB_SETTINGS=<prefix>/hub-settings.json <venv>/bin/jupyterhub -f hub/jupyterhub_config.py

(``hub/start_hub.sh <prefix>`` does exactly this.)  People log in with their
Unix account (PAM); each gets a JupyterLab server running as that account,
which sees the course's shared nbgrader settings and exchange.
"""

import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)
settings = json.loads(Path(os.environ["COURSE_HUB_SETTINGS"]).read_text())
state = Path(settings["state"])
venv_bin = Path(settings["venv"]) / "bin"

c.JupyterHub.ip = settings["ip"]
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.get("hub_port", 8081)
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.get('proxy_api_port', 8001)}"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# PAM: the accounts setup_course.py created; only the course's people
c.Authenticator.allowed_users = {settings["instructor"], *settings["students"]}
c.Authenticator.admin_users = {settings["instructor"]}

c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # nbgrader_config.py with the course id and the exchange, for every account
    "JUPYTER_CONFIG_PATH": settings["config_path"],
    # the course's own config reads this instead of its course-local exchange
    "NBGRADER_EXCHANGE_ROOT": settings["exchange"],
    # nbgrader runs `alembic` and `jupyter` from the environment it lives in
    "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
}
# no news or update checks: they would reach the internet from every server
c.Spawner.args = ["--LabApp.news_url=",
                  "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120

# Grade on submit (README, "Grade on submit"): a managed service the hub starts
# and restarts. It runs as the instructor, whose process already owns the
# course folder, the gradebook and the intake store, and who grades the batch
# with the same sandbox; it needs no root. It idles until the instructor names
# assignments in c.GradeOnSubmit.assignments of the course config, and
# restarts itself when that file changes.
c.JupyterHub.services = [{
    "name": "grade-on-submit",
    "user": settings["instructor"],
    "command": [str(venv_bin / "python"), "-m", "course_grader.service",
                "--course", settings["course"]],
    "cwd": settings["course"],
    "environment": {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "NBGRADER_EXCHANGE_ROOT": settings["exchange"],
        "JUPYTER_CONFIG_PATH": settings["config_path"],
        "LANG": "C.UTF-8",
    },
}]


def _restart_services_quickly(seconds: int = 5) -> None:
    """A killed service is noticed on the spawner's next poll (30 s by default).

    Services get a spawner class of their own that reads no configuration, so
    c.Spawner.poll_interval would only change the users' servers; this gives
    the services' spawner a shorter interval and leaves the users' alone.
    """
    from jupyterhub.services import service as hub_services
    from traitlets import Integer

    base = getattr(hub_services, "_ServiceSpawner", None)
    if base is None:  # a JupyterHub without it: the default interval applies
        return

    class QuickPollServiceSpawner(base):
        poll_interval = Integer(seconds)

    hub_services._ServiceSpawner = QuickPollServiceSpawner


_restart_services_quickly()
