"""Grade on submit: the course's JupyterHub service (policy, queue, the loop that runs it)."""
