"""The HAR response comment of an answer the client did not get from the app: the
server's own status instead, or no answer at all.
"""

from __future__ import annotations

__all__ = ["no_answer_comment", "server_answer_comment"]


def server_answer_comment(status: int, why: str, started: int) -> str:
    """The HAR response comment of a ``status`` the server answered itself (``why``, in
    a few words), with the app's own status ``started`` when it had one: as a 499's
    comment quotes it, so that a 400 or 500 no app code sent is not searched for there."""
    comment = f"the server answered {status} itself ({why}) and sent none of the app's answer"
    if 100 <= started <= 999:
        comment += f"; the app answered {started}"
    return comment


def no_answer_comment(why: str, started: object, closed: bool = True) -> str:
    """The HAR response comment of an exchange no answer reached (see
    :meth:`Recorder.no_answer`)."""
    comment = f"no answer reached the client: the server {why}"
    if closed:
        comment += " and closed the connection"
    if isinstance(started, int) and 100 <= started <= 999:
        comment += f"; the app answered {started}"
    return comment
