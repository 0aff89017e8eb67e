#!/bin/sh
# Creates the Mosquitto password file from MQTT_USERNAME / MQTT_PASSWORD (never stored in
# the repository), then runs the broker. Runs as root; mosquitto drops to its own user.
set -eu
: "${MQTT_USERNAME:?MQTT_USERNAME must be set}"
: "${MQTT_PASSWORD:?MQTT_PASSWORD must be set}"
passwd=/mosquitto/data/passwd
umask 077
mkdir -p /mosquitto/data
rm -f "$passwd"
touch "$passwd"
mosquitto_passwd -b "$passwd" "$MQTT_USERNAME" "$MQTT_PASSWORD"
chown -R mosquitto:mosquitto /mosquitto/data
chmod 0700 "$passwd"
exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
