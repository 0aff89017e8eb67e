# Stand-in for eclipse-mosquitto:2 in docker/smoke.sh (no image registry there): Debian's
# mosquitto 2 with the paths compose.yaml uses (/mosquitto/config, /mosquitto/data,
# /usr/sbin/mosquitto, mosquitto_passwd, mosquitto_sub for the health check).
ARG DEBIAN_IMAGE=wpt-smoke/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /mosquitto/config /mosquitto/data /mosquitto/log \
 && chown -R mosquitto:mosquitto /mosquitto
LABEL org.wpt-dlm.stand-in="eclipse-mosquitto:2: Debian bookworm mosquitto"
EXPOSE 1883
CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
