#!/bin/sh
# Sets the orchestrator's account from MQTT_USERNAME / MQTT_PASSWORD (never stored in the
# repository) in the password file of the data volume, keeping the other accounts (hubs,
# vehicles, app: see docker/README.md), writes the ACL with the orchestrator's user name, then
# runs the broker. Runs as root; mosquitto drops to its own user.
set -eu
: "${MQTT_USERNAME:?MQTT_USERNAME must be set}"
: "${MQTT_PASSWORD:?MQTT_PASSWORD must be set}"
passwd=/mosquitto/data/passwd
acl=/mosquitto/data/aclfile
umask 077
mkdir -p /mosquitto/data
touch "$passwd"
mosquitto_passwd -b "$passwd" "$MQTT_USERNAME" "$MQTT_PASSWORD"
# The shipped ACL names the orchestrator wpt-orchestrator: give its rules to MQTT_USERNAME.
awk -v u="$MQTT_USERNAME" '$0 == "user wpt-orchestrator" { print "user " u; next } { print }' \
  /wpt/aclfile > "$acl"
chown -R mosquitto:mosquitto /mosquitto/data
chmod 0700 "$passwd" "$acl"
exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
