#!/usr/bin/env bash
# mailstack.sh - a throwaway Dovecot (IMAP + LMTP) + Postfix (SMTP) on 127.0.0.1 for the tests, all
# state in DIR. Adapted from the verified recipe in shared/MAILSTACK.md (section 10).
# Needs (Debian 12): dovecot-imapd dovecot-lmtpd postfix openssl, and python3-icalendar for the
# calendar cross-parsing test (`install` fetches them). Run as root.
#
# usage: mailstack.sh install                      apt-get install what is missing (root, noninteractive)
#        mailstack.sh start DIR [OFFSET] [PART]    ports: IMAP 1143+O, IMAPS 1993+O, SMTP 2525+O,
#                                                  submission 2587+O (O = 0..61)
#        mailstack.sh stop  DIR [PART]             PART = dovecot | postfix (default: both)
#   `start DIR O PART` starts one stopped part again from the config already in DIR (outage tests).
# env:   MS_USERS="user@domain:password ..."  (IMAP/submission logins; mail to ANY address is delivered)
# example: bash scripts/mailstack.sh start /tmp/mailstack-abc 0 ; ... ; bash scripts/mailstack.sh stop /tmp/mailstack-abc
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # dovecot, postfix, runuser live there; not every PATH has them
cmd=${1:?usage: mailstack.sh install | start DIR [OFFSET] [PART] | stop DIR [PART]}
# python3-icalendar: the second independent reader of our calendar mail (test/calendar/crossparse).
PACKAGES="dovecot-imapd dovecot-lmtpd postfix openssl python3-icalendar"

install() {
  local missing="" p
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "mailstack: missing Debian packages:$missing; install them as root:" >&2
    echo "  apt-get install -y --no-install-recommends$missing" >&2
    exit 1
  fi
  echo "mailstack: installing$missing (apt-get)" >&2
  # The packages' postinst would start the system-wide dovecot (143/993) and postfix (25); the
  # tests need neither. A temporary policy-rc.d keeps them stopped where none is in place.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 0755 "$policy"; made_policy=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      $missing >/dev/null; } || rc=$?
  [ "$made_policy" = 1 ] && rm -f "$policy"
  if [ "$rc" != 0 ]; then echo "mailstack: apt-get failed (exit $rc)" >&2; exit "$rc"; fi
}

if [ "$cmd" = install ]; then install; exit 0; fi
D=$(realpath -m "${2:?DIR}")   # postfix -c silently exits 1 on a relative path
if [ "$cmd" = stop ]; then OFF=0; PART=${3:-}; else OFF=${3:-0}; PART=${4:-}; fi
case "$PART" in ""|dovecot|postfix) ;; *) echo "mailstack: PART must be dovecot or postfix" >&2; exit 2 ;; esac
IMAP_PORT=$((1143 + OFF)); IMAPS_PORT=$((1993 + OFF))
SMTP_PORT=$((2525 + OFF)); SUBM_PORT=$((2587 + OFF))
# The test mailboxes: the bot, a reporter, two vendors and a coordinator.
MS_USERS=${MS_USERS:-"bot@cvd.example:botpass reporter@finder.example:reporterpass alice@vendor-a.example:alicepass bob@vendor-b.example:bobpass coord@cvd.example:coordpass"}

live_in_group() {   # any non-zombie process whose process group is $1?
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

stop() {
  # Both masters call setsid(), so each is its own process-group leader: one TERM per group stops
  # every child at once (~0.2 s; "postfix stop" + TERM to the dovecot master alone takes 1.1-3 s).
  local pids="" p i live
  if [ "$PART" != postfix ] && [ -f "$D/dovecot/run/master.pid" ]; then pids="$pids $(cat "$D/dovecot/run/master.pid")"; fi
  if [ "$PART" != dovecot ] && [ -f "$D/postfix/spool/pid/master.pid" ]; then pids="$pids $(tr -d ' ' < "$D/postfix/spool/pid/master.pid")"; fi
  for p in $pids; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for i in $(seq 1 100); do          # up to 5 s; zombies are left for PID 1 to reap
    live=0
    for p in $pids; do if live_in_group "$p"; then live=1; fi; done
    [ "$live" = 0 ] && break
    sleep 0.05
  done
  [ "$PART" != postfix ] && rm -f "$D/dovecot/run/master.pid"
  [ "$PART" != dovecot ] && rm -f "$D/postfix/spool/pid/master.pid"
  return 0
}

wait_port() {       # wait until 127.0.0.1:$1 accepts connections (max ~5 s)
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "port $1 not listening" >&2; return 1
}

start() {
  command -v dovecot >/dev/null && command -v postfix >/dev/null || {
    echo "mailstack: dovecot/postfix not installed: run \`bash scripts/mailstack.sh install\` as root" >&2; exit 1; }
  if [ -n "$PART" ]; then start_part "$PART"; return; fi
  mkdir -p "$D"
  chmod 0755 "$D"   # Postfix's lmtp client runs as user "postfix" and must reach the LMTP socket in DIR
  mkdir -p "$D/dovecot/run" "$D/dovecot/state" "$D/mail" "$D/log" "$D/tls" \
           "$D/postfix/etc" "$D/postfix/spool" "$D/postfix/data"
  local who
  for who in dovecot postfix mail; do   # DIR and every parent must be o+x (mkdtemp gives 0700!)
    runuser -u "$who" -- test -x "$D" || { echo "$D is not reachable by user $who: chmod o+x its parents" >&2; exit 1; }
  done
  chown mail:mail "$D/mail"          # Dovecot refuses uid 0 for mail; Debian's stock user "mail" (uid 8)
  chown postfix "$D/postfix/data"    # master.lock lives here; must be owned by mail_owner

  # --- self-signed certificate (EC P-256: ~15 ms; RSA-2048 ~0.4 s) ---
  if [ ! -f "$D/tls/cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$D/tls/key.pem" -out "$D/tls/cert.pem" -days 3650 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
    chmod 0644 "$D/tls/cert.pem"; chmod 0600 "$D/tls/key.pem"
  fi

  # --- login users (passwd-file is re-read when its mtime changes: append users at run time) ---
  : > "$D/dovecot/users"
  local u
  for u in $MS_USERS; do echo "${u%%:*}:{PLAIN}${u#*:}::::::" >> "$D/dovecot/users"; done
  chmod 0644 "$D/dovecot/users"      # read by the auth process, which runs as user "dovecot"

  cat > "$D/dovecot/dovecot.conf" <<EOF
# complete config: nothing from the system-wide dovecot config is included
instance_name = mailstack-$OFF
base_dir = $D/dovecot/run
state_dir = $D/dovecot/state
protocols = imap lmtp
listen = 127.0.0.1
log_path = $D/log/dovecot.log
# process titles name the user: "dovecot-mailstack-O/imap [bot@cvd.example 127.0.0.1 IDLE]"
verbose_proctitle = yes
ssl = yes
ssl_cert = <$D/tls/cert.pem
ssl_key = <$D/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 8
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/dovecot/users
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$D/mail/%d/%n allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0    # disables the per-IP auth penalty (failed logins would otherwise take 2-15 s more each)
  }
}
EOF

  cat > "$D/postfix/etc/main.cf" <<EOF
# queue and data dirs must NOT be inside the config dir (postfix-script wants that tree root-owned)
compatibility_level = 3.6
queue_directory = $D/postfix/spool
data_directory = $D/postfix/data
mail_owner = postfix
myhostname = mail.test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
# every domain is a virtual mailbox domain -> everything goes to Dovecot over LMTP (catch-all)
virtual_mailbox_domains = static:all
virtual_transport = lmtp:unix:$D/dovecot/run/lmtp
smtpd_reject_unlisted_recipient = no
local_transport = error:local delivery disabled
default_transport = error:outbound delivery disabled
relay_transport = error:outbound delivery disabled
alias_maps =
alias_database =
biff = no
disable_dns_lookups = yes
smtp_host_lookup = native
lmtp_host_lookup = native
maillog_file = $D/log/postfix.log
maillog_file_prefixes = $D
smtpd_tls_cert_file = $D/tls/cert.pem
smtpd_tls_key_file = $D/tls/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/dovecot/run/auth-postfix
smtpd_sasl_auth_enable = no
# above the bot's limits.maxMessageBytes (50 MB; Postfix's default is 10 MB)
message_size_limit = 60000000
mailbox_size_limit = 0
EOF

  cat > "$D/postfix/etc/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$SUBM_PORT inet n - n - - smtpd -o syslog_name=postfix/submission -o smtpd_sasl_auth_enable=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

  # Postfix re-reads a main.cf whose mtime is under ~2 s old in a 300 ms loop ("file being edited"),
  # which adds ~2 s to every start: backdate it.
  touch -d '-10 seconds' "$D/postfix/etc/main.cf" "$D/postfix/etc/master.cf"

  start_part dovecot
  start_part postfix
}

start_part() {
  # stdio to files: the dovecot master keeps its inherited stderr open forever (a caller reading
  # a pipe would never see EOF)
  if [ "$1" = dovecot ]; then
    dovecot -c "$D/dovecot/dovecot.conf" </dev/null >>"$D/log/dovecot.log" 2>&1 ||
      { echo "mailstack: dovecot did not start (see $D/log/dovecot.log)" >&2; tail -5 "$D/log/dovecot.log" >&2; exit 1; }
    wait_port "$IMAP_PORT"; wait_port "$IMAPS_PORT"
  else
    postfix -c "$D/postfix/etc" start </dev/null >>"$D/log/postfix.log" 2>&1 ||
      { echo "mailstack: postfix did not start (see $D/log/postfix.log)" >&2; tail -5 "$D/log/postfix.log" >&2; exit 1; }
    wait_port "$SMTP_PORT"; wait_port "$SUBM_PORT"
  fi
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: mailstack.sh install | start DIR [OFFSET] [PART] | stop DIR [PART]" >&2; exit 2 ;;
esac
