#!/usr/bin/env bash
# Start the course's JupyterHub (as root) with the settings hub/setup_course.py wrote.
set -euo pipefail
prefix="${1:-/srv/initialization-hub}"
here="$(cd "$(dirname "$0")" && pwd)"
export COURSE_HUB_SETTINGS="$prefix/hub-settings.json"
venv="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["venv"])' "$COURSE_HUB_SETTINGS")"
cd "$prefix/state"
exec "$venv/bin/jupyterhub" -f "$here/jupyterhub_config.py"
