# Image settings for the local prom/prometheus:v2.42.0, following the official
# prom/prometheus image. scripts/build-images.sh builds the root filesystem (Debian
# bookworm + prometheus 2.42), imports it as ROOTFS_IMAGE and builds this file on top
# (metadata only, no extra layer, no registry needed).
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE}
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.opencontainers.image.description="trickster-local/prom/prometheus:v2.42.0: prom/prometheus:v2.42.0 built locally from Debian packages by scripts/build-images.sh"
USER nobody
EXPOSE 9090
VOLUME ["/prometheus"]
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
