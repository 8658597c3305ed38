"""Hearing procedure: the state machine, who may do what, the waiting room, the protocol."""
