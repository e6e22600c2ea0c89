#!/usr/bin/env bash
# Reproduction (not run by tests/run.sh until fixed): the running
# configuration stops accepting GSSAPI logins when its keytab file vanishes.
#
# gateway/gss.c gss_acceptor_new() builds the acceptor credential with a
# cred store naming the keytab file ({"keytab", PATH}); MIT krb5 opens that
# file again in every gss_accept_sec_context().  So after `rm KEYTAB` (or a
# move, or a package upgrade replacing it) every new GSSAPI client is
# refused -- the client sees the sub-negotiation aborted (01 ff), the log
# says
#   session=N GSSAPI authentication from ... refused: accept: Key table
#   file '.../gw.keytab' not found
# -- although the SIGHUP that would read the missing file was refused and
# "keeping the running configuration" was logged.
# Expected: the running configuration keeps the keys it loaded (for
# instance copied into a MEMORY: keytab when the configuration is built),
# like the users file, whose contents stay in memory.
#
# This runs tests/fault/test_gssapi_faults.sh with that check enabled.
FAULT_KEYTAB_DEFECT='' exec bash "$(dirname "$0")/test_gssapi_faults.sh"
