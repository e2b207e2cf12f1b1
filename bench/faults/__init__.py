"""`make test-faults`: the embedded stack as separate OS processes, hostile files, SIGKILLed workers and a
NATS outage; nothing may be lost or doubled (see __main__ for the run and the verdict line)."""
