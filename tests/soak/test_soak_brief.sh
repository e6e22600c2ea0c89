#!/bin/bash
# The soak, briefly (inside `make check`): tests/soak/soak.sh for
# SOAK_BRIEF_SECONDS (default 20) with a lower session cap.  `make soak`
# runs the full one.
export SOAK_SECONDS=${SOAK_BRIEF_SECONDS:-20}
export SOAK_MAX_SESSIONS=${SOAK_BRIEF_MAX_SESSIONS:-40000}
exec bash "$(dirname "$0")/soak.sh"
