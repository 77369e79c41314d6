"""The trusted intake of nbgrader's exchange: who handed in what, and when.

On a shared exchange every student can write into ``inbound/``, so nothing
there is believed: identity comes from the Unix owner, the time from the
grader's clock (or the file system's change time), the content from a copy
taken once. ``intake`` is the piece a hub service calls at arrival,
``collect`` the nbgrader plug-in the formgrader and ``nbgrader collect`` use.
"""
