"""Errors of the stack operations (apply, train, deploy, test-events, destroy): one line each,
naming the resource and what to do. The CLI turns them into click errors."""


class StackError(Exception):
    """A stack operation could not be carried out."""
