#!/usr/bin/env bash
# The RFC 1961 building blocks (gateway/gss.c, gateway/gss_frame.c) against
# a throw-away MIT realm (tests/krb5/realm.sh), driven by
# tests/integration/gss_probe: a client and a server process running the
# whole exchange — context, protection level, a wrapped stream and wrapped
# datagrams — plus every refusal the gateway has to report: tampered,
# replayed and reordered tokens, levels not granted, wrong service, no
# ticket, expired ticket, missing keytab.
#
# Run from the top of the tree after `make tests/integration/gss_probe`.
# Skips (77) when the MIT KDC tools are not installed (tests/deps.sh
# installs krb5-kdc, krb5-admin-server and krb5-user).
. "$(dirname "$0")/../lib.sh"
. "$T_ROOT/tests/krb5/realm.sh"
t_init

PROBE=${GSS_PROBE:-$T_ROOT/tests/integration/gss_probe}
if [ ! -x "$PROBE" ]; then
	t_skip "gss modules" "$PROBE not built (make tests/integration/gss_probe)"
	t_finish
fi
krb_realm_setup localhost gw.test
case $? in
0) ;;
77)
	t_skip "gss modules" "MIT Kerberos KDC tools not installed"
	t_finish
	;;
*)
	t_fail "throw-away realm" "krb_realm_setup failed"
	t_finish
	;;
esac
t_pass "throw-away realm TEST.EXAMPLE, KDC on 127.0.0.1:$KRB_KDC_PORT"

# probe NAME WANT_RC REGEX... -- PROBE-ARGS...: t_expect with the probe.
probe() {
	local -a head=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		head+=("$1")
		shift
	done
	shift
	t_expect "${head[@]}" -- timeout 60 "$PROBE" "$@"
}

krb_kinit alice || {
	t_fail "kinit alice" "no ticket"
	t_finish
}

# --- round trips ---
probe "level 2 (confidentiality): stream and datagrams round trip, no cleartext on the wire" 0 \
	'^server: context established with alice@TEST\.EXAMPLE$' \
	'^client: context established with rcmd/localhost@TEST\.EXAMPLE$' \
	'^server: level confidentiality \(asked confidentiality\)$' \
	'^server: stream 300000 bytes verified, [0-9]+ tokens in, marker in clear in 0$' \
	'^client: stream 300000 bytes echoed' \
	'^server: datagrams: 20 accepted, 0 dropped as replays, 0 rejected$' \
	'^client: datagrams: 20 echoes verified$' '^result: ok$' \
	-- --keytab "$KRB_KEYTAB" --level 2
probe "level 1 (integrity): round trip; tokens carry the data in clear (signed only)" 0 \
	'^server: level integrity \(asked integrity\)$' \
	'^server: stream 300000 bytes verified, [0-9]+ tokens in, marker in clear in [1-9][0-9]*$' \
	'^client: datagrams: 20 echoes verified$' '^result: ok$' \
	-- --keytab "FILE:$KRB_KEYTAB" --level 1
probe "tokens never exceed 65535 bytes: largest plaintext per token" 0 \
	'^client: level confidentiality .*, 654[0-9][0-9] bytes per token$' '^result: ok$' \
	-- --level 2 --bytes 200000 --dgrams 4
probe "level 0 when 'none' is granted: authentication only, then cleartext" 0 \
	'^server: level none \(asked none\)$' '^client: stream 300000 bytes echoed' '^result: ok$' \
	-- --level 0 --grant none,integrity,confidentiality
if KRB5CCNAME=FILE:$KRB_DIR/bob.ccache krb_kinit bob; then
	probe "second user (bob) from another credential cache" 0 \
		'^server: context established with bob@TEST\.EXAMPLE$' '^result: ok$' \
		-- --ccache "FILE:$KRB_DIR/bob.ccache" --bytes 1000 --dgrams 2
else
	t_fail "kinit bob" "no ticket"
fi
probe "another host's service principal in the same keytab (rcmd/gw.test)" 0 \
	'^client: context established with rcmd/gw\.test@TEST\.EXAMPLE$' '^result: ok$' \
	-- --host gw.test --bytes 1000 --dgrams 1
probe "service restriction: socks only, client asks for socks" 0 \
	'^server: accepting service socks in ' \
	'^client: context established with socks/localhost@TEST\.EXAMPLE$' '^result: ok$' \
	-- --acceptor socks --service socks --bytes 1000 --dgrams 1
probe "NEC compatibility: level sent and answered unwrapped when enabled" 0 \
	'^server: level confidentiality \(asked confidentiality\), unwrapped \(NEC\)$' \
	'^result: ok$' -- --nec --bytes 1000 --dgrams 1

# --- level policy ---
probe "level 0 refused when 'none' is not granted (abort, no upgrade)" 1 \
	'^server: error: client asked for level 0 \(none\), not granted \(abort sent\)$' \
	'^client: error: peer aborted \(01 ff\)$' -- --level 0
probe "level 2 refused when only integrity is granted (no downgrade)" 1 \
	'^server: error: client asked for level 2 \(confidentiality\), not granted' \
	'^client: error: peer aborted' -- --level 2 --grant integrity
probe "downgrade policy: the client refuses a weaker level and closes (RFC 1961 §4.3)" 1 \
	'^server: level integrity \(asked confidentiality\)$' \
	'^client: error: asked for confidentiality, server answered integrity: unacceptable$' \
	-- --level 2 --grant integrity --downgrade
probe "level 1 asked, only confidentiality granted: answered 2, accepted" 0 \
	'^server: level confidentiality \(asked integrity\)$' '^result: ok$' \
	-- --level 1 --grant confidentiality --bytes 1000 --dgrams 1
probe "unwrapped (NEC) level refused unless enabled" 1 \
	'^server: error: protection level sent unwrapped \(NEC style\), not enabled$' \
	'^client: error: peer aborted' -- --nec-client

# --- tampering ---
probe "flipped byte in a confidentiality token ends the stream" 1 \
	'^client: flipped a byte in token 3$' \
	'^server: error: stream: token 3: unwrap: .*(Message Integrity|integrity check)' \
	-- --level 2 --tamper 3
probe "flipped byte in an integrity token ends the stream" 1 \
	'^server: error: stream: token 2: unwrap: .*(Message Integrity|integrity check)' \
	-- --level 1 --tamper 2
probe "replayed stream token ends the stream" 1 \
	'^client: sent token 2 twice$' \
	'^server: error: stream: token 3: unwrap: .*duplicate' -- --level 2 --replay 2
probe "datagrams: replay dropped, reordering accepted, tampered one rejected" 0 \
	'^server: dropped a datagram: unwrap datagram: .*duplicate' \
	'^server: rejected a datagram: unwrap datagram: .*(Message Integrity|integrity check)' \
	'^server: datagrams: 19 accepted, 1 dropped as replays, 1 rejected$' \
	'^client: datagrams: 19 echoes verified$' '^result: ok$' \
	-- --bytes 1000 --dgrams 20 --dgram-replay 2 --dgram-reorder 5 --dgram-tamper 9

# --- refusals at context establishment ---
probe "wrong service principal refused at init" 1 \
	'^client: error: init: .*nosuch/localhost@TEST\.EXAMPLE not found in Kerberos database' \
	-- --service nosuch
probe "service restriction: rcmd ticket refused by a socks-only acceptor (abort)" 1 \
	'^server: error: accept: .*rcmd/localhost@TEST\.EXAMPLE.*socks' \
	'^client: error: peer aborted \(01 ff\)$' -- --acceptor socks
probe "keytab missing: clear error" 1 \
	"^server: error: keytab $T_TMP/missing.keytab: No such file or directory\$" \
	-- --keytab "$T_TMP/missing.keytab"
: >"$T_TMP/empty.keytab"
probe "keytab empty: clear error" 1 \
	'^server: error: keytab .*empty\.keytab: empty file, holds no keys' \
	-- --keytab "$T_TMP/empty.keytab"
probe "keytab without the requested service: clear error" 1 \
	'^server: error: acceptor credentials \(service ftp in .*\): ' \
	-- --acceptor ftp

krb_kdestroy
probe "no ticket refused at init" 1 \
	'^client: error: init: .*No Kerberos credentials available' -- --bytes 10
if krb_kinit_expired alice; then
	probe "expired ticket refused at init" 1 \
		'^client: error: init: .*(Ticket expired|credential has expired)' -- --bytes 10
else
	t_fail "expired ticket" "could not make an expired ticket"
fi

t_finish
